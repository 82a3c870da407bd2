# Shared by the bench/* launchers.  Source it with the launcher's name:
#     source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" NAME
# It sets BENCH_DIR, BENCH_REPO and BENCH_PYTHON, and puts the checkout on PYTHONPATH.
#
# The drivers run with Stacklet's interpreter (they start `python -m stacklet`
# with the same one): $STACKLET_PYTHON, else the checkout's .venv (what
# scripts/quickstart makes), else python3; the first that imports Stacklet's
# dependencies.
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BENCH_REPO="$(dirname "$BENCH_DIR")"

BENCH_PYTHON="${STACKLET_PYTHON:-}"
if [ -z "$BENCH_PYTHON" ]; then
    for candidate in "$BENCH_REPO/.venv/bin/python" python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
           PYTHONPATH="$BENCH_REPO" "$candidate" -c 'import stacklet.cli, uvicorn' 2>/dev/null; then
            BENCH_PYTHON="$candidate"
            break
        fi
    done
fi
if [ -z "$BENCH_PYTHON" ]; then
    echo "bench/$1: no Python with Stacklet's dependencies found; run scripts/quickstart" \
         "once, or set STACKLET_PYTHON" >&2
    exit 2
fi
export PYTHONPATH="$BENCH_REPO${PYTHONPATH:+:$PYTHONPATH}"
