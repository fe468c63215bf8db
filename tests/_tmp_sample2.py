import time
from hypothesis import given, settings, HealthCheck
import tests.test_latex as T
from tests.hang import run
from click.testing import CliRunner
from derivator.cli import derive
@settings(max_examples=3000, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(cand=T.latexish())
def go(cand):
    t = time.process_time()
    r = CliRunner().invoke(derive, [T.STORY4, "--wrt", "w1", *T.TEX_HELPERS, "--candidate", cand])
    dt = time.process_time() - t
    if r.exit_code == 3 or dt > 3:
        print(f"{dt:.1f}s exit {r.exit_code}", repr(cand), r.stderr[:300], flush=True)
go()
