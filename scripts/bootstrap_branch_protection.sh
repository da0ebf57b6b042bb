#!/usr/bin/env bash
# Protect main the way docs/required-checks.md describes, with the GitHub CLI (`gh api`). Idempotent:
# each request is a PUT (or PATCH) of the whole setting, so running it twice changes nothing.
# --dry-run prints the exact requests (method, path and JSON body) and sends none; tests/release.rs
# runs it. Needs `gh auth login` as a repository admin otherwise.
# Usage: scripts/bootstrap_branch_protection.sh [--dry-run] [--repo OWNER/NAME] [--branch main]
set -euo pipefail
dry_run=0 repo="" branch=main
while [ $# -gt 0 ]; do
    case "$1" in
        --dry-run) dry_run=1 ;;
        --repo) repo="${2:?--repo needs OWNER/NAME}"; shift ;;
        --branch) branch="${2:?--branch needs a name}"; shift ;;
        -h | --help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bootstrap_branch_protection: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
if [ -z "$repo" ]; then
    if [ "$dry_run" = 1 ]; then repo="OWNER/REPO"; else repo="$(gh repo view --json nameWithOwner -q .nameWithOwner)"; fi
fi
case "$repo" in */*) ;; *) echo "bootstrap_branch_protection: --repo must be OWNER/NAME" >&2; exit 2 ;; esac

# The required checks: job names from .github/workflows (workflow / job), as docs/required-checks.md lists.
checks='["fast","test (ubuntu-24.04)","test (macos-14)","lint-and-gates","contracts","static","analyze (rust)","analyze (python)"]'

request() {
    local method="$1" path="$2" body="$3"
    if [ "$dry_run" = 1 ]; then
        printf '%s %s\n%s\n' "$method" "$path" "$body"
    else
        printf '%s' "$body" | gh api --method "$method" -H "Accept: application/vnd.github+json" "$path" --input - >/dev/null
        echo "done: $method $path"
    fi
}

request PUT "repos/$repo/branches/$branch/protection" "$(cat <<JSON
{"required_status_checks":{"strict":true,"contexts":$checks},"enforce_admins":true,"required_pull_request_reviews":{"required_approving_review_count":1,"require_code_owner_reviews":true,"dismiss_stale_reviews":true},"restrictions":null,"required_linear_history":true,"allow_force_pushes":false,"allow_deletions":false,"required_conversation_resolution":true}
JSON
)"
request PATCH "repos/$repo" '{"delete_branch_on_merge":true,"allow_merge_commit":false,"allow_squash_merge":true,"allow_rebase_merge":true}'
request PUT "repos/$repo/vulnerability-alerts" '{}'
request PUT "repos/$repo/automated-security-fixes" '{}'
request PUT "repos/$repo/actions/permissions/workflow" '{"default_workflow_permissions":"read","can_approve_pull_request_reviews":false}'
