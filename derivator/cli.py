"""`derive`: a thin click layer over the library. Parse, call, print, map errors to exit codes."""

from __future__ import annotations

import sys
import time

import click

from derivator.answers.report import Report, report
from derivator.clikit import EXIT_DISAGREES, BadInput, Once, OneLineErrors, console, emit, parse_at, parse_tolerance
from derivator.errors import DerivatorError
from derivator.graph.equations import resolve_of
from derivator.load.files import candidate_text, load
from derivator.numbers import checking
from derivator.render import FORMATS, choose, render, require, worksheet
from derivator.render.output import Outputs
from derivator.version import __version__

# Each mode imports its own answers and writers when it runs (matrices, Jacobians, grading, pictures,
# code): `derive FILE --wrt w1` then starts in the time of SymPy's import and little more.


@click.command(cls=OneLineErrors,
               context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.argument("file")
@click.option("--wrt", cls=Once, metavar="NAME",
              help="A parameter, an input, a node (its output) or z_NODE (its pre-activation); with --jacobian, "
                   "several separated by commas.")
@click.option("--of", "of", cls=Once, metavar="TARGET", help="'loss' (default with a loss) or a node name.")
@click.option("--at", "at", multiple=True, metavar="NAME=VALUE",
              help="A value at the point; repeatable; overrides the file's 'at:' name by name.")
@click.option("--check", is_flag=True, help="Compare with a numerical derivative at the point.")
@click.option("--tolerance", cls=Once, default=str(checking.RELATIVE_TOLERANCE),
              metavar="REL", help="Relative error allowed by --check.")
@click.option("--format", "fmt", cls=Once, default="text", metavar="|".join(FORMATS),
              help="text, latex, markdown, json, desmos, html (a page to open in a browser), or python "
                   "(a module computing the gradient).")
@click.option("--standalone", is_flag=True, help="With --format latex: a complete document.")
@click.option("--candidate", cls=Once, metavar="EXPR",
              help="Your own answer, to compare: node names, z_NODE, helpers; O(1-O) w4 h2 is fine.")
@click.option("--candidate-file", cls=Once, metavar="PATH",
              help="Read --candidate from a file (UTF-8), e.g. LaTeX pasted from notes.")
@click.option("--define", multiple=True, metavar="'f(x)=EXPR'",
              help="A helper for --candidate, e.g. 'd(x)=s(x)*(1-s(x))'; repeatable, in order.")
@click.option("--matrix", is_flag=True, help="With a layers file and --wrt W2 (a whole matrix): the matrix form.")
@click.option("--jacobian", is_flag=True,
              help="The matrix d of_i / d wrt_j: --of and --wrt name several, by commas (a2, z_a2: a layer's).")
@click.option("--hessian", is_flag=True,
              help="The matrix of second derivatives over --wrt all, a whole matrix (W1) or NAME,NAME,...")
@click.option("--draw", cls=Once, metavar="OUT.svg|OUT.tex",
              help="Draw the network with the paths from --wrt marked.")
@click.option("--unrolled", is_flag=True,
              help="With --draw and steps: draw the network unrolled through time (h@1, h@2, ...), not folded.")
@click.option("--draw-deltas", is_flag=True, help="With --draw: each node's delta under its value.")
@click.option("--step", "rate", cls=Once, metavar="RATE",
              help="One step of gradient descent on every parameter, with learning rate RATE.")
@click.option("--plot", cls=Once, metavar="OUT.png", help="Plot the target near the point with its tangent line.")
@click.option("--grade", "answers", cls=Once, metavar="ANSWERS.csv",
              help="Judge each row (columns id, candidate, optionally wrt) as --candidate does; CSV or --format json.")
@click.option("--blank", cls=Once, metavar="PARTS", help="A worksheet: leave blank numbers, deltas, result, steps "
              "or NODE,... (text, latex, markdown).")
@click.version_option(__version__, "--version", message="derive (derivator) %(version)s")
def derive(file, wrt, of, at, check, tolerance, fmt, standalone, candidate, candidate_file, define, matrix, jacobian,
           hessian, draw, unrolled, draw_deltas, rate, plot, answers, blank):
    """Derive d TARGET / d NAME for the network in FILE, show the work, and check it.

    \b
    Example:
      derive specs/story4_desmos_check.yaml --wrt w1 --check
      derive specs/story4_desmos_check.yaml --wrt w1 --format latex --standalone > notes.tex
      derive specs/story4_desmos_check.yaml --wrt w1 --define 's(x)=1/(1+exp(-x))'
        --define 'd(x)=s(x)*(1-s(x))' --candidate 'd(z_O)*(d(z_h2)*d(z_h1)*I + d(z_h3)*d(z_h1)*I)'
      derive specs/softmax_jacobian.yaml --jacobian --of p1,p2,p3 --wrt z_p1,z_p2,z_p3 --check
      derive specs/story4_desmos_check.yaml --wrt w1 --grade answers.csv > grades.csv
      derive specs/story4_desmos_check.yaml --wrt w1 --wrt w2 --check    (or --hessian --wrt all)

    \b
    Exit status: 0 success, 1 a check or the candidate disagrees, 2 bad usage or a bad file
    (one line on stderr: FILE:LINE:COL: error: MESSAGE), 3 an internal error, a bug in derive
    (one line on stderr: derive: error: internal error (...); please report it).
    """
    given = {"--candidate": candidate is not None or candidate_file is not None, "--define": bool(define),
             "--matrix": matrix, "--draw": draw is not None, "--step": rate is not None, "--plot": plot is not None,
             "--check": check, "--standalone": standalone, "--jacobian": jacobian, "--blank": blank is not None}

    def others(*allowed: str) -> dict[str, bool]:  # the flags a mode does not take, for its one error line
        return {flag: on for flag, on in given.items() if flag not in allowed}

    try:
        candidate = candidate_text(candidate, candidate_file)
        if draw is not None or unrolled or draw_deltas:
            from derivator.render import picture
            draw = picture.drawing(draw, unrolled, draw_deltas)
        if answers is not None:
            return _grade(file, wrt, of, at, fmt, define, answers, others("--define"))
        if hessian or isinstance(wrt, tuple):  # second derivatives (CONTRACT section 8)
            from derivator.render.second_command import answer
            text, status = answer(file, wrt, of, parse_at(at), check, parse_tolerance(tolerance), fmt, standalone,
                                  hessian, others("--check", "--standalone"))
            emit(text)
            return status
        if jacobian:
            return _jacobian(file, wrt, of, at, check, tolerance, fmt, standalone,
                             others("--check", "--standalone", "--jacobian"))
        status = _derive(file, wrt, of, at, check, tolerance, fmt, standalone, candidate, define, matrix, draw, plot,
                         rate, blank)
    except DerivatorError as e:
        raise BadInput(e.format(file)) from None
    except RecursionError:
        raise BadInput(f"{file}: error: the network is too deep to derive here") from None
    return status


def _derive(file, wrt, of, at, check, tolerance, fmt, standalone, candidate, define, matrix, draw, plot,
            rate=None, blank=None) -> int:
    form = choose(fmt, standalone)
    worksheet.refuse_format(blank, fmt)
    if wrt is None:
        raise DerivatorError("missing --wrt NAME: the parameter, input or node to differentiate by")
    tolerance = parse_tolerance(tolerance)
    if rate is not None:
        from derivator.answers.descent import descend, parse_rate
        rate = parse_rate(rate)
    net = load(file)
    if form.code:
        return _python(net, file, wrt, of, check, candidate, matrix, rate)
    if define and candidate is None:
        raise DerivatorError("--define names helpers for --candidate; give --candidate EXPR too")
    whole = _whole_matrix(net, wrt)
    if wrt == "all":
        answer = _all(net, of, at, check, tolerance, fmt, candidate, matrix)
    elif matrix or whole is not None:
        answer = _whole(net, wrt, whole, of, at, check, tolerance, fmt, candidate, matrix)
    else:
        require(fmt, "Report", len(net.samples))
        answer = report(net, wrt, of, parse_at(at), check=check, tolerance=tolerance, candidate=candidate,
                        definitions=define)
    if rate is not None:
        if type(answer).__name__ == "MatrixForm":
            raise DerivatorError("--step goes with one derivative or --wrt all, not --matrix")
        answer.step = descend(net, resolve_of(net, of), rate, parse_at(at))
    worksheet.attach(answer, blank, fmt, {"--check": check, "--candidate": candidate is not None, "--step": bool(rate)})
    values = checking.point(net, parse_at(at)) if plot or draw else {}
    with Outputs() as files:  # renamed into place once stdout is written; on any failure, no file at all
        if plot:
            if not isinstance(answer, Report):
                raise DerivatorError("--plot draws one derivative: name one parameter, input or node with --wrt")
            from derivator.render.plot import write  # matplotlib is imported only when a plot is asked for
            write(answer, values, plot, files)
        if draw:
            from derivator.render import picture
            picture.write(net, wrt if wrt != "all" else net.params[0], resolve_of(net, of), values, draw.path, files,
                          draw.unrolled, draw.deltas)
        emit(render(answer, fmt, standalone))
        files.commit()
    return EXIT_DISAGREES if answer.failed else 0


def _jacobian(file, wrt, of, at, check, tolerance, fmt, standalone, others: dict[str, bool]) -> int:
    """`--jacobian`: every ∂of_i/∂wrt_j, --of and --wrt each a comma list."""
    choose(fmt, standalone)
    require(fmt, "Jacobian", flag="--jacobian")
    for flag, given in others.items():
        if given:
            raise DerivatorError(f"--jacobian gives a matrix of derivatives; {flag} does not apply to it")
    tolerance = parse_tolerance(tolerance)
    from derivator.answers.jacobian import jacobian as jacobian_of
    answer = jacobian_of(load(file), of, wrt, parse_at(at), check, tolerance)
    emit(render(answer, fmt, standalone))
    return EXIT_DISAGREES if answer.failed else 0


def _grade(file, wrt, of, at, fmt, define, answers, others: dict[str, bool]) -> int:
    """`--grade ANSWERS.csv`: every row judged as --candidate judges one; exit 1 when some row could not be."""
    for flag, given in others.items():
        if given:
            raise DerivatorError(f"--grade judges the candidates in {answers}; {flag} does not apply to it")
    if fmt not in ("text", "json"):
        raise DerivatorError(f"--grade writes CSV (the default) or --format json, not --format {fmt}")
    from derivator.answers import grading
    from derivator.render.grades import render_grades_csv, render_grades_json
    net = load(file)
    try:
        rows = grading.read(answers)
    except DerivatorError as e:  # its position is in the answers, not in the network file
        raise BadInput(e.format(answers)) from None
    if wrt is None and not any(row.wrt for row in rows):
        raise DerivatorError(f"missing --wrt NAME: what to differentiate by (or a wrt column in {answers})")
    result = grading.grade(net, wrt, rows, of, parse_at(at), define)
    emit(render_grades_json(result) if fmt == "json" else render_grades_csv(result))
    return EXIT_DISAGREES if result.failed else 0


def _python(net, file, wrt, of, check, candidate, matrix, rate) -> int:
    """`--format python`: the module, for every parameter (all), a whole matrix's entries, or one name."""
    for flag, given in (("--check", check), ("--candidate", candidate is not None), ("--matrix", matrix),
                        ("--step", rate is not None)):
        if given:
            raise DerivatorError(f"--format python writes code; {flag} does not apply to it")
    from derivator.render import python
    from derivator.symbolic.derive import derive as derive_one
    whole = _whole_matrix(net, wrt)
    if wrt == "all" and not net.params:
        raise DerivatorError("--wrt all: the network has no parameters (weights and biases given by name)")
    names = list(net.params) if wrt == "all" else [n for row in whole for n in row] if whole else [wrt]
    if wrt != "all" and not whole:
        derive_one(net, wrt, of)  # the same errors as any other format for a bad --wrt
    emit(python.module(net, names, of, file))
    return 0


def _all(net, of, at, check, tolerance, fmt, candidate, matrix):
    """`--wrt all`: every parameter from one backward pass."""
    if matrix:
        raise DerivatorError("--matrix derives one whole matrix, such as --wrt W1; not --wrt all")
    require(fmt, "Gradient", flag="--wrt all")
    if candidate is not None:
        raise DerivatorError("--wrt all: --candidate compares one derivative; name one parameter with --wrt")
    from derivator.answers.gradient import gradient
    return gradient(net, None, of, parse_at(at), check, tolerance, progress=Progress())


class Progress:
    """A progress line on stderr for the per-parameter checks, once they take over a second, on a terminal."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        if not sys.stderr.isatty() or time.monotonic() - self.start < 1.0:
            return
        click.echo(f"\rchecking {done}/{total} derivatives", err=True, nl=done == total)


def _whole(net, wrt, whole, of, at, check, tolerance, fmt, candidate, matrix):
    """`--wrt W2`: the matrix form with --matrix, else every entry by the delta recursion."""
    flag = "--matrix" if matrix else f"--wrt {wrt} (a whole matrix)"
    require(fmt, "MatrixForm" if matrix else "Gradient", flag=flag)
    if candidate is not None:
        raise DerivatorError(f"{flag}: --candidate compares one derivative; name one entry, such as "
                             f"--wrt {whole[0][0] if whole else 'W1_1_1'}")
    from derivator.answers import matrix_form
    from derivator.answers.gradient import gradient
    if not matrix:
        return gradient(net, [n for row in whole for n in row], of, parse_at(at), check, tolerance, name=wrt,
                        layout=whole, progress=Progress())
    if of not in (None, "loss"):
        raise DerivatorError("--matrix derives the loss; leave out --of")
    return matrix_form.matrix_form(net, wrt, parse_at(at), check, tolerance)


def _whole_matrix(net, wrt: str) -> list[list[str]] | None:
    """The entries of a whole matrix (--wrt W2) of a layers file, or None."""
    if not net.layers:
        return None
    from derivator.answers.matrix_form import whole
    return whole(net, wrt)


def main(argv: list[str] | None = None) -> None:
    """The console script `derive`."""
    console(derive, argv, "derive")
