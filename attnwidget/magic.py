"""The ``%%attention`` cell magic and ``%attention`` line magic."""

from __future__ import annotations

import keyword
import sys

import yaml
from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.utils.process import arg_split
from IPython.utils.text import dedent

from . import config as C
from .body import parse_body

# Keys whose line value is free text (kept as written unless it is a [list] or a $name).
_TEXT_KEYS = ("query", "context", "value", "key", "select")


def _keys_help() -> str:
    width = max(len(k) for k in C.KEYS)
    rows = "\n".join(f"  {k.name:<{width}}  {k.doc} (default: {k.default!r})" for k in C.KEYS.values())
    return (
        "Build and run a Keras attention layer and show its scores as an interactive widget.\n\n"
        "The cell body is YAML, one 'key: value' per line; the line takes the same keys as\n"
        "options (--num-heads or --heads, --key-dim ...) and overrides the body. A value\n"
        "'$name' reads a variable of the notebook. The result (an AttentionResult) is shown and,\n"
        "with -o NAME or a bare NAME first on the line, bound to that name.\n\n"
        "Example::\n\n"
        "  %%attention -o res --heads 2\n"
        "  kind: cross\n"
        "  key_dim: 2\n"
        "  query: $target\n"
        "  context: $source\n\n"
        f"Keys:\n{rows}\n")


def check_output_name(name: str | None) -> str | None:
    """The ``-o NAME`` target must be a plain identifier."""
    if name is None:
        return None
    if not name.isidentifier() or keyword.iskeyword(name):
        raise C.ConfigError(f"-o: expected a Python name to bind the result to, got {name!r}")
    return name


class RunFailed(Exception):
    """A run that failed in Keras or in the user's own objects: shown as one line, the whole chain kept for ``%tb``."""


def _one_line(shell, etype, value, tb, tb_offset=None):
    """IPython custom exception handler: :class:`RunFailed` as one line (other types go to ``previous``)."""
    if not isinstance(value, RunFailed):
        return _one_line.previous(shell, etype, value, tb, tb_offset) if _one_line.previous else None
    sys.last_type, sys.last_value, sys.last_traceback = etype, value, tb  # what %tb shows
    sys.last_exc = value
    print(f"attention: {value} (%tb shows the traceback)", file=sys.stderr)
    return None


def install_one_line_errors(shell) -> None:
    """Show :class:`RunFailed` as one line in ``shell``, keeping any custom handler it already has."""
    if RunFailed in shell.custom_exceptions:
        return
    previous = shell.CustomTB if shell.custom_exceptions else None
    _one_line.previous = getattr(previous, "__func__", previous)
    shell.set_custom_exc(tuple(shell.custom_exceptions) + (RunFailed,), _one_line)


def _with_doc(doc):
    def deco(func):
        func.__doc__ = doc
        return func
    return deco


def _option_value(key: str, raw: str):
    if key == "select" and raw.strip().isdigit():
        return int(raw)
    if key in _TEXT_KEYS and not raw.lstrip().startswith("["):
        return raw
    try:
        return yaml.safe_load(raw) if raw.strip() else raw
    except yaml.YAMLError:
        return raw


def select_note(select, index: int | None, tokens) -> str | None:
    """One line when ``select`` named a token that occurs more than once: which one was pinned, and how to pick another."""
    if not isinstance(select, str) or index is None:
        return None
    places = [i for i, t in enumerate(tokens) if t == select]
    if len(places) < 2:
        return None  # one occurrence, or the the#2 form
    other = next(i for i in places if i != index)
    return (f"select: {select!r} occurs {len(places)} times; pinned the first (index {index}); "
            f"{select}#2 or select: {other} picks another")


@magics_class
class AttentionMagics(Magics):
    """``%%attention`` / ``%attention``."""

    @magic_arguments()
    @argument("name", nargs="?", help="bind the result to this name (same as -o NAME)")
    @argument("-o", "--output", metavar="NAME", help="bind the result to this name")
    @argument("--kind", help="global | cross | causal | base | encoder | decoder | transformer")
    @argument("--heads", "--num-heads", "--num_heads", dest="num_heads", metavar="N", help="number of heads")
    @argument("--key-dim", "--key_dim", dest="key_dim", metavar="N", help="size of each head's query/key")
    @argument("--value-dim", "--value_dim", dest="value_dim", metavar="N", help="size of each head's value")
    @argument("--d-model", "--d_model", dest="d_model", metavar="N", help="embedding size for text input")
    @argument("--query", metavar="TEXT|$name", help="the query (text, [tokens], [B, T, D] or $name)")
    @argument("--context", metavar="TEXT|$name", help="what the query attends to (cross, base)")
    @argument("--value", metavar="TEXT|$name", help="base only: Keras's name for the context")
    @argument("--key", metavar="TEXT|$name", help="base only: separate keys")
    @argument("--seed", metavar="N", help="seed of the weights and random inputs")
    @argument("--device", metavar="D", help="auto | cpu | gpu | gpu:N")
    @argument("--view", metavar="V", help="graph | matrix | heads | explain | model")
    @argument("--layer", metavar="$name", help="run your own Keras attention layer")
    @argument("--model", metavar="$name", help="record every attention layer of your own Keras model")
    @argument("--inputs", metavar="$name", help="with --model: what the model is called with")
    @argument("--num-layers", "--num_layers", dest="num_layers", metavar="N", help="encoder | decoder | transformer: layers")
    @argument("--dff", metavar="N", help="encoder | decoder | transformer: feed-forward width")
    @argument("--batch", metavar="N", help="batch element shown first")
    @argument("--max-tokens", "--max_tokens", dest="max_tokens", metavar="N", help="longest text accepted")
    @argument("--select", metavar="TOKEN|N", help="query token pinned at first (the#2: its second occurrence)")
    @argument("--hide-keys", "--hide_keys", dest="hide_keys", metavar="N|[N,..]",
              help="key positions the views leave out, each row renormalised over the rest (a sink such as <s>)")
    @argument("--tokens", metavar="[LABELS]", help="labels of the query positions when query is an array")
    @argument("--context-tokens", "--context_tokens", dest="context_tokens", metavar="[LABELS]",
              help="labels of the context positions when context is an array")
    @argument("--max-memory", "--max_memory", dest="max_memory", metavar="SIZE", help="memory a run may need (8GB)")
    @argument("--scale", metavar="S", help="size of text, controls and cells: 1.75 for a projector (default 1)")
    @argument("--html", metavar="PATH", help="also write the view as a self-contained HTML file")
    @_with_doc(_keys_help())
    @no_var_expand
    @line_cell_magic
    def attention(self, line: str, cell: str | None = None):
        try:
            name, cfg, html_path = self._configuration(line, cell)
            from .run import run

            resolved = C.validate(C.resolve_names(cfg, self.shell.user_ns))
            result = run(resolved)
        except C.ConfigError as exc:
            if exc.__cause__ is not None and not isinstance(exc.__cause__, C.ConfigError):
                raise RunFailed(str(exc)) from exc.__cause__  # the user's object failed: its traceback for %tb
            raise UsageError(str(exc)) from None
        except UsageError:  # argparse's, about the line
            raise
        except Exception as exc:  # noqa: BLE001 - Keras or a user's object: one line, the traceback kept for %tb
            raise RunFailed(C.first_line(exc)) from exc
        note = select_note(resolved.select, result.selected, result.record.query_tokens)
        if note:
            print(note)
        if html_path:
            try:
                result.to_html(html_path)
            except OSError as exc:
                raise UsageError(f"--html: cannot write {html_path!r} ({exc.strerror or exc})") from None
        if name:
            self.shell.user_ns[name] = result
        return result

    def _configuration(self, line: str, cell: str | None) -> tuple[str | None, dict]:
        try:
            argv = arg_split(line, posix=True)  # posix: quotes group words and are removed
        except ValueError as exc:
            raise C.ConfigError(f"line: cannot split the options ({exc})") from None
        args = self.attention.parser.parse_args(argv)
        self._refuse_repeats(argv)
        if args.name and args.output and args.name != args.output:
            raise C.ConfigError(f"-o: two result names given ({args.name!r} and {args.output!r}); give one")
        name = check_output_name(args.output or args.name)
        body = parse_body(dedent(cell or ""))
        C.check_names(body)
        options = {k: _option_value(k, v) for k, v in vars(args).items()
                   if k not in ("name", "output", "html") and v is not None}
        return name, {**body, **options}, args.html

    def _refuse_repeats(self, argv: list[str]) -> None:
        parser = self.attention.parser
        seen: dict[str, str] = {}
        for word in argv:
            opt = word.split("=", 1)[0]
            action = parser._option_string_actions.get(opt)  # noqa: SLF001 - argparse has no public map
            if action is None:
                continue
            if action.dest in seen:
                raise C.ConfigError(f"{opt}: given twice on the line (also as {seen[action.dest]})")
            seen[action.dest] = opt
