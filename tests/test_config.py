"""Every rule of [tool.codeartifact]: good tables load, bad ones name the file, key and fix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from codeartifact_multiregion.config import ConfigError, Target, load_config

BASE = """
[project]
name = "Hello.Internal"
version = "1.0.0"

[tool.codeartifact]
domain = "acme"
repository = "python"
regions = ["us-east-1", "eu-west-1", "ap-southeast-2"]
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(text)
    return tmp_path


def test_minimal_table_gives_one_target_per_region_primary_first(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE))
    assert config.regions == ["us-east-1", "eu-west-1", "ap-southeast-2"]
    assert config.targets[0] == Target("us-east-1", "acme", "python")
    assert config.project_name == "Hello.Internal"
    assert (config.token_duration, config.concurrency, config.block_upstream) == (900, 8, False)
    assert config.dist_dir == (tmp_path / "dist").resolve()


def test_per_region_overrides_apply_only_to_their_region(tmp_path: Path) -> None:
    text = (
        BASE
        + """
domain-owner = "111122223333"
profile = "publisher"
role-arn = "arn:aws:iam::111122223333:role/publisher"
token-duration = 3600
concurrency = 16
dist-dir = "build/dist"
block-upstream = true

[tool.codeartifact.targets.eu-west-1]
repository = "python-eu"
domain-owner = "444455556666"
"""
    )
    config = load_config(write(tmp_path, text))
    us, eu, ap = config.targets
    assert eu == Target(
        "eu-west-1",
        "acme",
        "python-eu",
        "444455556666",
        "publisher",
        "arn:aws:iam::111122223333:role/publisher",
    )
    assert us.repository == ap.repository == "python"
    assert us.domain_owner == "111122223333"
    assert (config.token_duration, config.concurrency, config.block_upstream) == (3600, 16, True)
    assert config.dist_dir == (tmp_path / "build" / "dist").resolve()


def test_poetry_project_name_is_read_from_tool_poetry(tmp_path: Path) -> None:
    text = BASE.replace(
        '[project]\nname = "Hello.Internal"\nversion = "1.0.0"',
        '[tool.poetry]\nname = "poetry-pkg"',
    )
    assert load_config(write(tmp_path, text)).project_name == "poetry-pkg"


def test_region_flag_narrows_in_configured_order(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE), regions=["ap-southeast-2", "us-east-1"])
    assert config.regions == ["us-east-1", "ap-southeast-2"]


BAD_TABLES = [
    # (replacement of a line of BASE or an appended text, words the message must contain)
    (("regions = [", "regoins = ["), ["regoins", "Did you mean 'regions'"]),
    (('domain = "acme"', 'domain = "Acme_Corp"'), ["codeartifact.domain", "Acme_Corp"]),
    (('domain = "acme"', 'domain = "a"'), ["codeartifact.domain"]),
    (('repository = "python"', 'repository = "-bad"'), ["codeartifact.repository"]),
    (
        ('regions = ["us-east-1", "eu-west-1", "ap-southeast-2"]', "regions = []"),
        ["codeartifact.regions", "non-empty"],
    ),
    (
        (
            'regions = ["us-east-1", "eu-west-1", "ap-southeast-2"]',
            'regions = ["us-east-1", "us-east-1"]',
        ),
        ["codeartifact.regions", "twice"],
    ),
    (
        ('regions = ["us-east-1", "eu-west-1", "ap-southeast-2"]', 'regions = ["useast1"]'),
        ["codeartifact.regions", "useast1", "AWS region"],
    ),
    (
        ('regions = ["us-east-1", "eu-west-1", "ap-southeast-2"]', 'regions = "us-east-1"'),
        ["codeartifact.regions", "list"],
    ),
    ('domain-owner = "12345"', ["codeartifact.domain-owner", "12-digit"]),
    ("domain-owner = 111122223333", ["codeartifact.domain-owner", "quoted", '"111122223333"']),
    ("token-duration = 60", ["codeartifact.token-duration", "900 to 43200"]),
    ("token-duration = 50000", ["codeartifact.token-duration", "900 to 43200"]),
    ("concurrency = 0", ["codeartifact.concurrency", "1 to 64"]),
    ("concurrency = true", ["codeartifact.concurrency"]),
    ('block-upstream = "yes"', ["codeartifact.block-upstream", "true or false"]),
    ('role-arn = "arn:aws:iam::1:user/x"', ["codeartifact.role-arn", "IAM role ARN"]),
    ('profile = ""', ["codeartifact.profile"]),
    ("dist-dir = 3", ["codeartifact.dist-dir"]),
    (
        '[tool.codeartifact.targets.us-west-2]\nrepository = "x"',
        ["targets.us-west-2", "not in regions", "Add 'us-west-2' to regions"],
    ),
    (
        '[tool.codeartifact.targets.eu-west-1]\nrepo = "x"',
        ["targets.eu-west-1", "unknown key 'repo'", "Did you mean 'repository'"],
    ),
    ('[tool.codeartifact.targets.eu-west-1]\nrepository = "!!"', ["targets.eu-west-1.repository"]),
    ('colour = "blue"', ["unknown key 'colour'", "Valid keys"]),
]


@pytest.mark.parametrize(("change", "words"), BAD_TABLES)
def test_bad_table_is_refused_with_file_key_and_fix(
    tmp_path: Path, change: tuple[str, str] | str, words: list[str]
) -> None:
    if isinstance(change, tuple):
        old, new = change
        assert old in BASE
        text = BASE.replace(old, new)
    elif change.startswith("["):
        text = BASE + "\n" + change + "\n"
    else:
        text = BASE + change + "\n"
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    message = str(caught.value)
    assert str(tmp_path / "pyproject.toml") in message
    for word in words:
        assert word in message
    assert message.rstrip().endswith((".", "?")), "a fix or hint closes every message"


@pytest.mark.parametrize("missing", ["domain", "repository", "regions"])
def test_required_key_missing(tmp_path: Path, missing: str) -> None:
    text = "\n".join(line for line in BASE.splitlines() if not line.startswith(f"{missing} ="))
    with pytest.raises(ConfigError, match=rf"codeartifact.{missing}\] is required.*Add {missing}"):
        load_config(write(tmp_path, text))


def test_missing_pyproject_names_the_path_and_the_flag(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"pyproject.toml: not found.*--project DIR"):
        load_config(tmp_path)


def test_toml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"pyproject.toml: not valid TOML \(.*line 3"):
        load_config(write(tmp_path, '[project]\nname = "x"\nversion = 1.0.0\n'))


def test_missing_table_says_how_to_add_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no \[tool.codeartifact\] table. Add one"):
        load_config(write(tmp_path, '[project]\nname = "x"\n'))


def test_unconfigured_region_flag_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--region us-west-2: not configured .*eu-west-1"):
        load_config(write(tmp_path, BASE), regions=["us-west-2"])


def test_concurrency_override_is_checked_like_the_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE))
    assert config.with_overrides(concurrency=3).concurrency == 3
    with pytest.raises(ConfigError, match="--concurrency must be a whole number from 1 to 64"):
        config.with_overrides(concurrency=65)


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('domain = "acme"', 'domain = "acme\\n"', "codeartifact.domain"),
        ('"eu-west-1",', '"eu-west-1\\n",', "codeartifact.regions"),
        ('repository = "python"', 'repository = "python\\n"', "codeartifact.repository"),
    ],
)
def test_a_final_newline_does_not_pass_a_pattern(
    tmp_path: Path, old: str, new: str, key: str
) -> None:
    with pytest.raises(ConfigError, match=rf"\[tool\.{key}\] .* is not a valid"):
        load_config(write(tmp_path, BASE.replace(old, new)))


@pytest.mark.parametrize(
    "encoded",
    [
        BASE.encode("utf-16"),
        BASE.replace("Hello.Internal", "Hällo").encode("latin-1"),
    ],
)
def test_a_pyproject_that_is_not_utf8_names_the_file_and_the_fix(
    tmp_path: Path, encoded: bytes
) -> None:
    (tmp_path / "pyproject.toml").write_bytes(encoded)
    with pytest.raises(ConfigError, match=r"pyproject.toml: not UTF-8 text .*save it as UTF-8"):
        load_config(tmp_path)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('tool = "x"\n', "[tool] must be a table"),
        # The name picks the files to publish from dist/: a [project] of the wrong type is not
        # "no name" but a broken pyproject (issue 11, row 10).
        (
            'project = "x"\n' + BASE.split("[project]\n")[1].split("\n", 2)[2],
            "[project] must be a table",
        ),
        (
            "[project]\nname = 5\n" + BASE.split("[project]\n")[1].split("\n", 2)[2],
            "[project] name must be a non-empty string",
        ),
    ],
)
def test_tables_of_the_wrong_type_are_errors_not_crashes(
    tmp_path: Path, text: str, words: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(words)):
        load_config(write(tmp_path, text))


STANDALONE = """
[tool.codeartifact]
domain = "acme"
repository = "python"
regions = ["us-east-1", "eu-west-1"]

[tool.codeartifact.access]
readers = ["arn:aws:iam::444455556666:role/builds", "555566667777"]
publishers = ["arn:aws:iam::111122223333:role/release"]
organization-id = "o-a1b2c3d4e5"
"""


def test_a_standalone_codeartifact_toml_loads_with_its_access_table(tmp_path: Path) -> None:
    path = tmp_path / "codeartifact.toml"
    path.write_text(STANDALONE)
    config = load_config(path)
    assert config.path == path.resolve() and config.project_name is None
    assert config.access.readers == ("arn:aws:iam::444455556666:role/builds", "555566667777")
    assert config.access.publishers == ("arn:aws:iam::111122223333:role/release",)
    assert config.access.organization_id == "o-a1b2c3d4e5"


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("readers =", "reader =", ["unknown key 'reader'", "Did you mean 'readers'"]),
        ('"555566667777"', "555566667777", ["codeartifact.access.readers", "Quote it"]),
        ('"555566667777"', '"5555"', ["codeartifact.access.readers", "'5555' is not a valid"]),
        ('"o-a1b2c3d4e5"', '"a1b2"', ["codeartifact.access.organization-id"]),
        (
            'publishers = ["arn:aws:iam::111122223333:role/release"]',
            'publishers = "x"',
            ["access.publishers", "must be a list"],
        ),
    ],
)
def test_bad_access_entries_name_the_key(
    tmp_path: Path, old: str, new: str, words: list[str]
) -> None:
    path = tmp_path / "codeartifact.toml"
    assert old in STANDALONE
    path.write_text(STANDALONE.replace(old, new))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    for word in words:
        assert word in str(caught.value)


def test_a_file_that_is_neither_a_directory_nor_toml_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "setup.cfg"
    other.write_text("")
    with pytest.raises(ConfigError, match=r"setup.cfg: not a directory or a .toml file"):
        load_config(other)
