"""The terminal recorder: shell snippets (bash, zsh, fish) and the secret filter.

The snippet does as little as possible at the prompt: it decides in the shell itself (no
fork) whether the last command may be recorded, then hands it to a detached background
``clone record turn`` on stdin (never argv, which other users can read in ``ps``). The secret
patterns are embedded when the snippet is generated and checked again by ``record turn``, so a
secret never leaves the machine even if the snippet is stale.
"""

from __future__ import annotations

import fnmatch
import shlex
import sys
from pathlib import Path

SHELLS = ("bash", "zsh", "fish")


def is_secret(command: str, patterns: list[str]) -> bool:
    """True when the command must not be recorded: it starts with a space, or matches a
    pattern (fnmatch, case-insensitive, against the whole command line)."""
    if not command.strip() or command[:1].isspace():
        return True
    upper = command.upper()
    return any(fnmatch.fnmatchcase(upper, p.upper()) for p in patterns)


def _glob_escape(pattern: str) -> str:
    """A pattern for bash/zsh ``[[ x == P ]]``: * and ? stay wildcards, everything else literal."""
    out = []
    in_bracket = False
    for ch in pattern.upper():
        if in_bracket:
            out.append(ch if ch.isalnum() or ch in "-!]" else "\\" + ch)
            in_bracket = ch != "]"
        elif ch == "[" and "]" in pattern:
            out.append(ch)
            in_bracket = True
        else:
            out.append(ch if ch in "*?" or ch.isalnum() else "\\" + ch)
    return "".join(out)


def _fish_quote(pattern: str) -> str:
    return "'" + pattern.upper().replace("\\", "\\\\").replace("'", "\\'") + "'"


def clone_executable() -> str:
    argv0 = Path(sys.argv[0])
    if argv0.name == "clone" and argv0.exists():
        return str(argv0.resolve())
    return "clone"


def snippet(shell: str, patterns: list[str], executable: str | None = None) -> str:
    exe = executable or clone_executable()
    if shell == "bash":
        return _bash(exe, patterns)
    if shell == "zsh":
        return _zsh(exe, patterns)
    if shell == "fish":
        return _fish(exe, patterns)
    raise ValueError(shell)


def _sh_patterns(patterns: list[str]) -> str:
    return " || ".join(f"$u == {_glob_escape(p)}" for p in patterns) or "1 == 0"


_BASH = r"""# Clone terminal recorder: eval "$(clone shell-init bash)" in ~/.bashrc
if [[ -z "${__clone_hooked:-}" && $- == *i* ]]; then
__clone_hooked=1
__clone_bin=__EXE__
export CLONE_SHELL_SESSION="${CLONE_SHELL_SESSION:-term-${HOSTNAME%%.*}-$$-${EPOCHSECONDS:-0}}"
__clone_seq=0
__clone_hist=$(umask 077; mktemp "${TMPDIR:-/tmp}/clone-hist.XXXXXX")
__clone_last=""
__clone_start=""
__clone_armed=""
__clone_debug() { if [[ -n "$__clone_armed" ]]; then __clone_armed=""; __clone_start=${EPOCHREALTIME:-}; fi; }
__clone_secret() { local u=${1^^}; [[ __PATTERNS__ ]]; }
__clone_precmd() {
  local code=$? line num cmd dur=""
  __clone_armed=1
  # Through a file, not $(...): a command substitution is a fork on every prompt. Opened
  # read-write, not truncated: on ext4 truncating a written file flushes it, a wait on the
  # disk at every prompt; only the first line is read, so what a longer entry left after it
  # does not matter.
  HISTTIMEFORMAT= builtin history 1 1<>"$__clone_hist" 2>/dev/null || return $code
  IFS= read -r line <"$__clone_hist"
  [[ $line =~ ^[[:space:]]*([0-9]+)[*]?[[:space:]][[:space:]](.*)$ ]] || return $code
  num=${BASH_REMATCH[1]}; cmd=${BASH_REMATCH[2]}
  [[ "$num" == "$__clone_last" ]] && return $code
  local first=$__clone_last; __clone_last=$num
  [[ -z "$first" ]] && return $code
  [[ -z "$cmd" || "$cmd" == [[:space:]]* ]] && return $code
  __clone_secret "$cmd" && return $code
  if [[ -n "$__clone_start" && -n "${EPOCHREALTIME:-}" ]]; then
    local s=${__clone_start/[.,]/} e=${EPOCHREALTIME/[.,]/}; dur=$(( (e - s) / 1000 ))
  fi
  __clone_seq=$((__clone_seq + 1))
  # One fork the prompt waits for: the subshell starts the sender and exits (so $! and the
  # job table stay the person's). A here-string, not printf | ..., spares the subshell a fork.
  (__NICE__"$__clone_bin" record turn --session "$CLONE_SHELL_SESSION" --seq "$__clone_seq" --exit-code "$code" --cwd "$PWD" ${dur:+--duration-ms "$dur"} <<<"$cmd" >/dev/null 2>&1 &)
  __clone_start=""
  return $code
}
trap '__clone_debug' DEBUG
PROMPT_COMMAND="__clone_precmd${PROMPT_COMMAND:+; $PROMPT_COMMAND}"
fi
"""

_ZSH = r"""# Clone terminal recorder: eval "$(clone shell-init zsh)" in ~/.zshrc
if [[ -z "${__clone_hooked:-}" ]]; then
__clone_hooked=1
zmodload zsh/datetime 2>/dev/null
autoload -Uz add-zsh-hook
__clone_bin=__EXE__
export CLONE_SHELL_SESSION="${CLONE_SHELL_SESSION:-term-${HOST%%.*}-$$-${EPOCHSECONDS:-0}}"
__clone_seq=0
__clone_cmd=""
__clone_start=""
__clone_secret() { local u=${(U)1}; [[ __PATTERNS__ ]]; }
__clone_preexec() { __clone_cmd=$1; __clone_start=${EPOCHREALTIME:-}; }
__clone_precmd() {
  local code=$? cmd=$__clone_cmd dur=""
  __clone_cmd=""
  [[ -z "$cmd" || "$cmd" == [[:space:]]* ]] && return $code
  __clone_secret "$cmd" && return $code
  if [[ -n "$__clone_start" && -n "${EPOCHREALTIME:-}" ]]; then
    local ms=$(( (EPOCHREALTIME - __clone_start) * 1000 )); dur=${ms%.*}
  fi
  __clone_seq=$((__clone_seq + 1))
  # printf | ...: zsh writes a here-string to a temp file.
  (printf '%s' "$cmd" | __NICE__"$__clone_bin" record turn --session "$CLONE_SHELL_SESSION" --seq "$__clone_seq" --exit-code "$code" --cwd "$PWD" ${dur:+--duration-ms} ${dur:+$dur} >/dev/null 2>&1 &)
  return $code
}
add-zsh-hook preexec __clone_preexec
add-zsh-hook precmd __clone_precmd
fi
"""

_FISH = r"""# Clone terminal recorder: clone shell-init fish | source   (in ~/.config/fish/config.fish)
if not set -q __clone_hooked
set -g __clone_hooked 1
set -g __clone_bin __EXE__
set -q CLONE_SHELL_SESSION; or set -gx CLONE_SHELL_SESSION term-(string split -m1 . (prompt_hostname))[1]-$fish_pid-(date +%s)
set -g __clone_seq 0
function __clone_postexec --on-event fish_postexec
    set -l code $status
    set -l cmd $argv[1]
    test -z "$cmd"; and return
    string match -qr '^\s' -- $cmd; and return
    set -l u (string upper -- $cmd)
    for p in __PATTERNS__
        string match -q -- $p "$u"; and return
    end
    set -g __clone_seq (math $__clone_seq + 1)
    printf '%s' $cmd | __NICE__$__clone_bin record turn --session $CLONE_SHELL_SESSION --seq $__clone_seq --exit-code $code --cwd $PWD --duration-ms $CMD_DURATION >/dev/null 2>&1 &
    disown 2>/dev/null
end
end
"""


def _nice() -> str:
    # The sender runs niced: it never competes for the CPU with what the person runs next, nor
    # with the shell drawing the prompt.
    import shutil

    return "nice -n 10 " if shutil.which("nice") else ""


def _fill(template: str, *, exe: str, patterns: str) -> str:
    return (
        template.replace("__EXE__", shlex.quote(exe))
        .replace("__PATTERNS__", patterns)
        .replace("__NICE__", _nice())
    )


def _bash(exe: str, patterns: list[str]) -> str:
    return _fill(_BASH, exe=exe, patterns=_sh_patterns(patterns))


def _zsh(exe: str, patterns: list[str]) -> str:
    return _fill(_ZSH, exe=exe, patterns=_sh_patterns(patterns))


def _fish(exe: str, patterns: list[str]) -> str:
    return _fill(_FISH, exe=exe, patterns=" ".join(_fish_quote(p) for p in patterns))
