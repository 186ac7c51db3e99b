"""The token appears nowhere: not on any stream, in any report, log or file written.

`aws codeartifact login` leaks the token on an error path; here every error path a
region can take (retries, a refused token, a refresh, a server echoing credentials
back, a control-plane error quoting the token, a conflict) runs through the real CLI,
and everything it printed or wrote is scanned for every token, raw and as the Basic
Authorization header that carries it.
"""

from __future__ import annotations

import base64

from tests.faults.helpers import home_env, secret_fragments
from tests.faults.proxy import PASS, RESET, STATUS, Rule
from tests.helpers import Result, run_cli


def test_no_token_in_any_output_log_or_file(regions, project, sample_dists, proxies, tmp_path):
    names = list(regions.regions)
    echo, refresh, denied = names
    tokens = set(regions.tokens())
    transcripts: list[tuple[str, str]] = []

    home = home_env(tmp_path)

    def record(what: str, result: Result, codes: set[int]) -> None:
        assert result.code in codes, (what, result.code, result.err)
        transcripts.extend([(f"{what} stdout", result.out), (f"{what} stderr", result.err)])

    base = ["publish", "--project", str(project)]
    # 1. The happy path, verbose.
    record("plain -v", run_cli(regions, *base, "-v", env=home), {0})
    for region in regions.regions.values():
        region.clear()

    # 2. Retries (a reset, a 503) and a server that echoes the credentials back in a 400.
    token = regions.regions[echo].token
    basic = base64.b64encode(f"aws:{token}".encode()).decode()
    body = (f"bad request: Authorization: Basic {basic}; password={token}; raw {basic}\n").encode()
    proxy = proxies(echo)
    proxy.add(Rule(RESET, "POST"))
    proxy.add(Rule(STATUS, "POST", status=503))
    proxy.add(Rule(STATUS, "POST", status=400, body=body, times=0))
    # 3. The token stops working mid-run in another region: one refresh, old and new tokens.
    old = regions.regions[refresh].token
    rotate = proxies(refresh)
    rotation = rotate.add(
        Rule(
            PASS,
            "POST",
            before=lambda: tokens.add(regions.fake.rotate_token(refresh, old + "-rotated")),
        )
    )
    record("faults -v", run_cli(regions, *base, "-v", env=home), {1})
    record("faults --json", run_cli(regions, *base, "--json", env=home), {1})
    assert proxy.count("POST", STATUS) >= 2 and rotation.fired == 1
    assert len(regions.fake.recorded("GetAuthorizationToken", refresh)) >= 3, "refreshed"
    tokens |= set(regions.tokens())

    # 4. A control-plane error that quotes the token it has just issued.
    quoted = regions.regions[denied].token
    regions.fake.fail(
        denied,
        "GetRepositoryEndpoint",
        "AccessDeniedException",
        403,
        times=0,
        message=f"User with token {quoted} is not authorized",
    )
    record("denied", run_cli(regions, *base, env=home), {1})
    record("denied --json", run_cli(regions, *base, "--json", env=home), {1})
    regions.fake.clear_faults()

    # 5. A conflict, and the status and dry-run views of the result.
    proxy.clear()
    wheel = next(sample_dists.glob("*.whl"))
    (regions.regions[denied].packages / wheel.name).write_bytes(b"other bytes")
    record("conflict -v", run_cli(regions, *base, "-v", env=home), {1})
    record(
        "status --json",
        run_cli(regions, "status", "--project", str(project), "--json", env=home),
        {0, 1},
    )

    assert "***" in "".join(text for _, text in transcripts), "the echoed secrets were masked"
    pieces = secret_fragments(tokens)
    for what, text in transcripts:
        leaked = [p for p in pieces if p in text]
        assert not leaked, f"a token (or a piece of one) leaked in {what}"
    scanned = 0
    for root in (tmp_path, regions.root):
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                data = path.read_bytes().decode("latin-1")
                scanned += 1
                leaked = [p for p in pieces if p in data]
                assert not leaked, f"a token (or a piece of one) was written to {path}"
    assert scanned > 10
