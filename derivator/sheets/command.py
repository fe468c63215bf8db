"""`derive-sheet`: a thin click layer over the sheet generator (CONTRACT section 11)."""

from __future__ import annotations

from pathlib import Path

import click

from derivator.clikit import BadInput, Once, OneLineErrors, console, emit
from derivator.errors import DerivatorError
from derivator.load.files import read_bytes
from derivator.load.yamlfile import MAX_FILE_BYTES
from derivator.sheets import documents, variants


@click.command("derive-sheet", cls=OneLineErrors,
               context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--shape", cls=Once, metavar="2-2-1", help="Dense layer sizes: inputs, hidden layers, outputs.")
@click.option("--activation", cls=Once, metavar="NAME[,NAME...]",
              help="With --shape: every layer's activation, or one per layer after the inputs.  [default: sigmoid]")
@click.option("--loss", cls=Once, metavar="TYPE", help="With --shape: the loss.  [default: squared_error]")
@click.option("--template", cls=Once, metavar="NET.yaml", help="A network file to vary instead of a shape.")
@click.option("--ask", cls=Once, metavar="NAME[,NAME...]", help="The names to differentiate by, e.g. w1,w5.")
@click.option("--count", cls=Once, default="10", metavar="N", help="How many variants.")
@click.option("--seed", cls=Once, default="1", metavar="S", help="The same seed gives the same files.")
@click.option("--decimals", cls=Once, default="1", metavar="D", help="Decimal places of every drawn number.")
@click.option("--out", cls=Once, metavar="DIR", help="Where to write exercise-N.yaml, sheet.tex and key.tex.")
def sheet(shape, activation, loss, template, ask, count, seed, decimals, out):
    """Write variants of an exercise, the sheet of questions and its answer key.

    \b
    Example:
      derive-sheet --shape 2-2-1 --activation sigmoid --loss squared_error --ask w1,w5 \\
        --count 30 --seed 7 --out week3
      derive-sheet --template specs/story4_desmos_check.yaml --ask w1 --count 5 --out quiz

    \b
    Writes DIR/exercise-1.yaml ... DIR/exercise-N.yaml (network files with round numbers),
    DIR/sheet.tex and DIR/key.tex (both compile with pdflatex). Exit status: 0 success,
    2 bad usage or a bad template (one line on stderr), 3 an internal error.
    """
    where = template or "derive-sheet"
    try:
        ex, how = _exercise(shape, activation, loss, template, ask)
        numbers = {flag: _integer(flag, text) for flag, text in
                   (("--count", count), ("--seed", seed), ("--decimals", decimals))}
        how += f" --count {numbers['--count']} --seed {numbers['--seed']} --decimals {numbers['--decimals']}"
        if out is None:
            raise DerivatorError("missing --out DIR: the folder to write the exercises, sheet.tex and key.tex to")
        made = variants.variants(ex, numbers["--count"], numbers["--seed"], numbers["--decimals"])
        files = {f"exercise-{v.number}.yaml": v.text for v in made}
        files["sheet.tex"] = documents.sheet(ex, made, how)
        files["key.tex"] = documents.key(ex, made, how)
        _write(Path(out), files)
    except DerivatorError as e:
        raise BadInput(e.format(where if e.line is not None else "derive-sheet")) from None
    emit(f"wrote {len(made)} exercise{'s' * (len(made) != 1)}, sheet.tex and key.tex to {out}\n")
    return 0


def _exercise(shape, activation, loss, template, ask) -> tuple[variants.Exercise, str]:
    """The exercise, and the command that makes it again (without --out, and the template's name
    without its folder: the files are the same bytes wherever they are made)."""
    if ask is None:
        raise DerivatorError("missing --ask NAME[,NAME...]: the names to differentiate by, e.g. --ask w1,w5")
    asked = variants.names(ask, "--ask")
    if (shape is None) == (template is None):
        raise DerivatorError("give --shape (such as 2-2-1) or --template NET.yaml, one of them")
    if template is not None:
        for flag, given in (("--activation", activation), ("--loss", loss)):
            if given is not None:
                raise DerivatorError(f"{flag} goes with --shape; a template's file says its own")
        return variants.template_exercise(_read(template), asked), \
            f"derive-sheet --template {Path(template).name} --ask {','.join(asked)}"
    activation, loss = activation or "sigmoid", loss or "squared_error"
    return variants.shape_exercise(shape, activation, loss, asked), \
        f"derive-sheet --shape {shape} --activation {activation} --loss {loss} --ask {','.join(asked)}"


def _integer(flag: str, text: str) -> int:
    try:
        return int(text, 10)
    except ValueError:
        raise DerivatorError(f"{flag} expects a whole number, not '{text[:40]}'") from None


def _read(path: str) -> str:
    data = read_bytes(path, MAX_FILE_BYTES, f"--template {path}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise DerivatorError(f"--template {path}: not UTF-8 text") from None


def _write(folder: Path, files: dict[str, str]) -> None:
    """Every file, once all are made: an error before this leaves nothing half-written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            (folder / name).write_bytes(content.encode("utf-8"))
    except OSError as e:
        raise DerivatorError(f"--out {folder}: cannot write there: {e.strerror or e}") from None


def main(argv: list[str] | None = None) -> None:
    """The console script `derive-sheet`."""
    console(sheet, argv, "derive-sheet")
