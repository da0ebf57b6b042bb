//! The route table: every endpoint the server answers, as data.
//!
//! The matcher, the `Allow` header of a 405 and the OpenAPI test all read [`ROUTES`], so the
//! server cannot answer a route the document does not describe (or the other way round). A
//! template is matched segment by segment; `{job_id}` and `{checkpoint_id}` capture one segment,
//! optionally followed by a literal suffix (`{job_id}:status`). A captured segment is
//! percent-decoded, and one that decodes to something that could climb or split a path (`.`,
//! `..`, or containing `/`, `\`, NUL) is refused with `E_UNSAFE_OPERATION` before its id is even parsed; ids are then
//! validated (`JobId::parse`) before any file system access.

use crate::contract::{Error, ReasonCode, Result};
use crate::serve::endpoints::{self as ep, Handler, Inline};

/// Does a route read a request body?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    /// GET routes: a body is not read.
    None,
    /// A JSON object is required.
    Required,
    /// An empty body means `{}`.
    Optional,
}

pub struct Route {
    pub method: &'static str,
    pub template: &'static str,
    pub body: Body,
    pub handler: Handler,
    /// Tried first, on the runtime thread (`endpoints::Inline`).
    pub inline: Option<Inline>,
}

const fn route(method: &'static str, template: &'static str, body: Body, handler: Handler) -> Route {
    Route { method, template, body, handler, inline: None }
}

pub static ROUTES: &[Route] = &[
    route("GET", "/healthz", Body::None, ep::healthz),
    route("GET", "/v1/openapi.json", Body::None, ep::openapi),
    route("GET", "/v1/jobs", Body::None, ep::list),
    route("POST", "/v1/jobs:submit", Body::Required, ep::submit),
    Route { inline: Some(ep::status_inline), ..route("GET", "/v1/jobs/{job_id}:status", Body::None, ep::status) },
    route("GET", "/v1/jobs/{job_id}/checkpoints", Body::None, ep::checkpoints),
    route("POST", "/v1/jobs/{job_id}/checkpoints", Body::Required, ep::emit),
    route("GET", "/v1/jobs/{job_id}/checkpoints/{checkpoint_id}", Body::None, ep::checkpoint),
    route("GET", "/v1/jobs/{job_id}/events", Body::None, ep::events),
    route("GET", "/v1/jobs/{job_id}/jobpack", Body::None, ep::jobpack),
    route("POST", "/v1/jobs/{job_id}:approve", Body::Required, ep::approve),
    route("POST", "/v1/jobs/{job_id}:resume", Body::Optional, ep::resume),
    route("POST", "/v1/jobs/{job_id}:pause", Body::Optional, ep::pause),
    route("POST", "/v1/jobs/{job_id}:cancel", Body::Optional, ep::cancel),
    route("POST", "/v1/jobs/{job_id}:export", Body::Optional, ep::export),
    route("POST", "/v1/jobs/{job_id}:verify", Body::Optional, ep::verify),
    route("POST", "/v1/jobs/{job_id}:accept", Body::Required, ep::accept),
    route("POST", "/v1/jobs/{job_id}:report-github", Body::Optional, ep::report_github),
];

/// The captured path parameters, decoded, not yet validated as ids.
#[derive(Clone, Debug, Default)]
pub struct Captures {
    pub job_id: Option<String>,
    pub checkpoint_id: Option<String>,
}

pub enum Match {
    Found(&'static Route, Captures),
    /// The path exists for these other methods.
    WrongMethod(Vec<&'static str>),
    NotFound,
}

/// Find the route for `method` and `path` (the URI path, still percent-encoded).
pub fn find(method: &str, path: &str) -> Result<Match> {
    let mut allowed = Vec::new();
    for route in ROUTES {
        if let Some(captures) = match_template(route.template, path)? {
            if route.method == method {
                return Ok(Match::Found(route, captures));
            }
            allowed.push(route.method);
        }
    }
    Ok(if allowed.is_empty() { Match::NotFound } else { Match::WrongMethod(allowed) })
}

/// Match `path` against `template` segment by segment, with no allocation unless it matches (the
/// table is tried in order on every request, so a miss must cost only a comparison).
fn match_template(template: &str, path: &str) -> Result<Option<Captures>> {
    // Most routes tried are missed on their literal head (`/healthz` against a status path): one
    // comparison, before any segment is split out (a `str::split` per route tried was a tenth of
    // a cached status answer's instructions).
    match template.bytes().position(|b| b == b'{') {
        None => return Ok((template == path).then(Captures::default)),
        Some(param) if !path.starts_with(&template[..param]) => return Ok(None),
        Some(_) => {}
    }
    let (mut t, mut p) = (template.split('/'), path.split('/'));
    // At most one `{job_id}` and one `{checkpoint_id}`: decoded only once the whole path matched.
    let mut pending: [Option<(&str, &str)>; 2] = [None, None];
    loop {
        let (ts, ps) = match (t.next(), p.next()) {
            (None, None) => break,
            (Some(ts), Some(ps)) => (ts, ps),
            _ => return Ok(None),
        };
        let param = ["{job_id}", "{checkpoint_id}"].into_iter().find(|name| ts.starts_with(name));
        match param {
            None if ts == ps => {}
            None => return Ok(None),
            Some(name) => {
                let suffix = &ts[name.len()..];
                let Some(raw) = ps.strip_suffix(suffix) else { return Ok(None) };
                if raw.is_empty() || raw.bytes().any(|b| b == b':') {
                    return Ok(None);
                }
                let slot = usize::from(name != "{job_id}");
                pending[slot] = Some((name, raw));
            }
        }
    }
    let mut captures = Captures::default();
    for (name, raw) in pending.into_iter().flatten() {
        let value = decode_segment(raw, name)?;
        if name == "{job_id}" {
            captures.job_id = Some(value);
        } else {
            captures.checkpoint_id = Some(value);
        }
    }
    Ok(Some(captures))
}

/// `%XX` decoded; a `%` not followed by two hex digits is kept as it is.
pub fn percent_decode(raw: &str) -> Vec<u8> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (bytes.get(i + 1).and_then(|b| hex(*b)), bytes.get(i + 2).and_then(|b| hex(*b)))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// Percent-decode one path segment; refuse what could name another directory.
fn decode_segment(raw: &str, name: &str) -> Result<String> {
    let out = percent_decode(raw);
    let field = name.trim_matches(|c| c == '{' || c == '}');
    let value = String::from_utf8(out).map_err(|_| {
        Error::invalid_input(format!("{field} is not UTF-8 after percent-decoding")).with("field", field)
    })?;
    if value == ".." || value == "." || value.contains(['/', '\\', '\0']) {
        return Err(Error::new(ReasonCode::UnsafeOperation, "unsafe path component")
            .with("field", field)
            .with("value", value.chars().take(128).collect::<String>()));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn routes_and_openapi_agree() {
        let doc: Value = serde_json::from_str(crate::contract::schema::OPENAPI).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        let mut documented = Vec::new();
        for (path, item) in paths {
            for method in item.as_object().unwrap().keys().filter(|k| *k != "parameters") {
                documented.push(format!("{} {path}", method.to_uppercase()));
            }
        }
        let mut served: Vec<String> = ROUTES.iter().map(|r| format!("{} {}", r.method, r.template)).collect();
        documented.sort();
        served.sort();
        assert_eq!(served, documented);
    }

    #[test]
    fn matching() {
        let found = |m, p| match find(m, p).unwrap() {
            Match::Found(r, c) => Some((r.template, c.job_id, c.checkpoint_id)),
            _ => None,
        };
        assert_eq!(found("GET", "/v1/jobs/j1:status").unwrap().1.as_deref(), Some("j1"));
        let cp = found("GET", "/v1/jobs/j1/checkpoints/cp_3").unwrap();
        assert_eq!(cp.2.as_deref(), Some("cp_3"));
        assert!(matches!(find("DELETE", "/v1/jobs/j1:status").unwrap(), Match::WrongMethod(m) if m == ["GET"]));
        assert!(matches!(find("GET", "/v1/nope").unwrap(), Match::NotFound));
        assert!(matches!(find("GET", "/v1/jobs/j1:frobnicate").unwrap(), Match::NotFound));
        // Near misses of the literal heads and of the segment walk behind them.
        assert_eq!(found("GET", "/v1/jobs").unwrap().0, "/v1/jobs");
        assert_eq!(found("GET", "/healthz").unwrap().0, "/healthz");
        for miss in [
            "/v1/jobs/",
            "/healthz/",
            "/healthzz",
            "/v1/jobsX/j1:status",
            "/v1/jobs/j1:status/x",
            "/v1/jobs/j1/checkpoints/",
            "/v1/jobs/:status",
            "/v1/jobs/a:b:status",
            "v1/jobs/j1:status",
            "",
        ] {
            assert!(matches!(find("GET", miss).unwrap(), Match::NotFound), "{miss:?}");
        }
        for bad in ["/v1/jobs/%2e%2e:status", "/v1/jobs/..:status", "/v1/jobs/a%2fb:status", "/v1/jobs/%2E%2E:status"] {
            let err = find("GET", bad).err().unwrap();
            assert_eq!(err.code, ReasonCode::UnsafeOperation, "{bad}");
        }
    }
}
