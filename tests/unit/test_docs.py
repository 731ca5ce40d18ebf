"""The documents cannot rot silently: every link, anchor, path and citation points somewhere.

What is checked, in every Markdown file of the repository (``git ls-files`` with the
untracked files git does not ignore: README.md, docs/, terraform/runbooks/, any other):

- **Links.** An inline link ``[text](target)`` or a reference definition ``[id]: target``
  whose target has no URL scheme is relative: the file or folder must exist (relative to
  the document, inside the repository), and its ``#anchor``, when the target is a Markdown
  file (or the document itself, for ``#anchor`` alone), must be a heading of that file.
- **Anchors** are GitHub's: a heading's text (code spans, emphasis and links reduced to
  their text), lower-cased, every character that is not a letter, digit, ``_``, ``-`` or
  space removed, spaces turned into ``-``; a repeated heading gets ``-1``, ``-2``, ...
  ``<a name>`` and ``id`` attributes count too.
- **Paths in backticks.** A code span is taken for a repository path when it is one
  token (no whitespace) and either names a top-level file of the repository exactly
  (``Makefile``) or has a ``/`` and starts with a top-level entry of the repository, as
  git lists them (``shared/domain/conflict.py``, ``terraform/``, ``.ci/run``). Anything
  else is a command, a field or a name, and is not checked: ``make test``,
  ``customerOrder.pickedUpAt``, ``domain/conflict.py`` (relative to a folder the text
  names), ``/business-units/...`` (an API path), ``.venv/bin/orders-dlq`` (``.venv`` is
  not in git). Such a path must exist, or match a file when it holds ``*``, ``?`` or
  ``{a,b}``; a ``#anchor`` on a Markdown path must be one of its headings. A path git
  ignores (``terraform/terraform.tfstate``) is what a command makes, and is skipped.

And in the code, the Terraform (its runbooks included) and the tests (every text file git
lists under ``shared/``, ``functions/``, ``terraform/`` and ``tests/``, the Makefile and
``pyproject.toml``): each citation ``docs/NAME.md`` or
``docs/NAME.md#anchor`` (and ``README.md#anchor``) must name a file that exists and a
heading it has, and no citation of a README heading by its title remains
(``README "Operations"``, which broke silently when the heading moved).

Fenced code blocks are skipped throughout. Setext headings (underlined) are not used here
and are not read.

The tests below run the checks over this repository, and over a small repository made in a
temporary folder with one break of each kind, so that the checks are shown to fail.
"""

from __future__ import annotations

import glob
import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import hcl2
import pytest

from shared.tools.functions import REPO_ROOT

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
_INLINE_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)"
)
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.MULTILINE)
_HTML_ANCHOR = re.compile(r"<a\s[^>]*(?:name|id)=\"([^\"]+)\"", re.IGNORECASE)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_GLOB = re.compile(r"[*?{\[]")
# A citation of a document: docs/NAME.md or README.md, with or without an anchor.
_CITATION = re.compile(r"(?<![\w./-])((?:docs/[\w.-]+/)*docs/[\w.-]+\.md|README\.md)(#[\w-]*)?")
# A citation of a README heading by its title, the form that broke when headings moved.
_README_HEADING = re.compile(
    r"README(?:\.md)?(?:'s)?,?[ \t]+(?:section[ \t]+)?"
    r"(?:\"[A-Z]|\*\*[A-Z]|[A-Z][\w \t]*?(?:[ \t]+section\b|\"))"
)
_CODE_ROOTS = ("shared/", "functions/", "terraform/", "tests/")
_CODE_FILES = ("Makefile", "pyproject.toml")
# This file names broken citations on purpose: in its docstring and its planted repository.
_SELF = Path(__file__).resolve().relative_to(REPO_ROOT).as_posix()
_TEXT_SUFFIXES = {".py", ".tf", ".md", ".json", ".yaml", ".yml", ".toml", ".txt", ".cfg", ""}


@dataclass(frozen=True)
class Problem:
    where: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.where}:{self.line}: {self.what}"


@dataclass
class Repository:
    """The files of a repository as git lists them, and what its Markdown files hold."""

    root: Path
    files: list[str] = field(default_factory=list)

    @classmethod
    def at(cls, root: Path) -> Repository:
        listed = _git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
        names = sorted({name for name in listed.split("\0") if name})
        return cls(root, [name for name in names if (root / name).is_file()])

    @property
    def top_level(self) -> set[str]:
        return {name.split("/", 1)[0] for name in self.files}

    @property
    def top_level_files(self) -> set[str]:
        return {name for name in self.files if "/" not in name}

    @property
    def markdown(self) -> list[str]:
        return [name for name in self.files if name.endswith(".md")]

    def ignored(self, paths: Iterable[str]) -> set[str]:
        wanted = sorted(set(paths))
        if not wanted:
            return set()
        result = subprocess.run(
            ["git", "check-ignore", "--no-index", "--stdin"],
            cwd=self.root,
            input="\n".join(wanted) + "\n",
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode not in (0, 1):
            raise RuntimeError(f"git check-ignore failed: {result.stderr}")
        return set(result.stdout.split())


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True
    ).stdout


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading (github-slugger's rule, ASCII punctuation)."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"<[^>]+>", "", text)
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def _without_fences(text: str) -> str:
    """The text with every fenced code block's lines emptied (line numbers kept)."""
    kept, fenced = [], False
    for line in text.split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
            kept.append("")
        else:
            kept.append("" if fenced else line)
    return "\n".join(kept)


def _blank(match: re.Match[str]) -> str:
    return re.sub(r"[^\n]", " ", match.group(0))


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


@cache
def _anchors_of(path: Path) -> frozenset[str]:
    text = _without_fences(path.read_text(encoding="utf-8"))
    anchors: set[str] = set(_HTML_ANCHOR.findall(text))
    seen: dict[str, int] = {}
    for line in text.split("\n"):
        heading = _HEADING.match(line)
        if heading is None:
            continue
        anchor = github_anchor(heading.group(2))
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        anchors.add(anchor if count == 0 else f"{anchor}-{count}")
    return frozenset(anchors)


def _anchor_problem(path: Path, anchor: str, shown: str) -> str | None:
    if not anchor or path.suffix != ".md" or not path.is_file():
        return None
    if anchor not in _anchors_of(path):
        return f"{shown}: no heading with the anchor #{anchor} in {path.name}"
    return None


def _inside(root: Path, path: Path) -> bool:
    return path.resolve().is_relative_to(root.resolve())


def _expand_braces(pattern: str) -> list[str]:
    match = re.search(r"\{([^{}]*)\}", pattern)
    if match is None:
        return [pattern]
    return [
        expanded
        for choice in match.group(1).split(",")
        for expanded in _expand_braces(pattern[: match.start()] + choice + pattern[match.end() :])
    ]


def _path_exists(root: Path, path: str) -> bool:
    """Whether ``path`` exists; ``{a,b}`` names each of its choices, ``*`` at least one file."""
    if _GLOB.search(path):
        return all(glob.glob(str(root / each)) for each in _expand_braces(path))
    return (root / path).exists()


def _is_repository_path(token: str, repository: Repository) -> bool:
    if not token or re.search(r"\s", token):
        return False
    if token.split("#", 1)[0] in repository.top_level_files:
        return True
    return "/" in token and token.split("/", 1)[0] in repository.top_level


def markdown_problems(repository: Repository) -> list[Problem]:
    """Broken links, anchors and backticked paths of every Markdown file."""
    root = repository.root
    problems: list[Problem] = []
    missing_paths: list[tuple[Problem, str]] = []
    for name in repository.markdown:
        document = root / name
        text = _without_fences(document.read_text(encoding="utf-8"))
        for span in _CODE_SPAN.finditer(text):
            token = span.group(2).strip()
            if not _is_repository_path(token, repository):
                continue
            path, _, anchor = token.partition("#")
            where = Problem(name, _line(text, span.start()), "")
            if not _path_exists(root, path):
                missing_paths.append((where, path))
            elif (problem := _anchor_problem(root / path, anchor, f"`{token}`")) is not None:
                problems.append(Problem(where.where, where.line, problem))
        prose = _CODE_SPAN.sub(_blank, text)
        targets = [(m.group(1), m.start()) for m in _INLINE_LINK.finditer(prose)]
        targets += [(m.group(1), m.start()) for m in _REFERENCE.finditer(prose)]
        for target, offset in targets:
            if not target or _SCHEME.match(target):
                continue
            line = _line(text, offset)
            path, _, anchor = target.partition("#")
            linked = document if not path else (document.parent / path)
            if not _inside(root, linked) or not linked.exists():
                problems.append(Problem(name, line, f"link ({target}): no such file or folder"))
            elif (problem := _anchor_problem(linked, anchor, f"link ({target})")) is not None:
                problems.append(Problem(name, line, problem))
    ignored = repository.ignored(path for _, path in missing_paths)
    problems += [
        Problem(where.where, where.line, f"`{path}`: no such path in the repository")
        for where, path in missing_paths
        if path not in ignored and path.rstrip("/") not in ignored
    ]
    return sorted(problems, key=lambda problem: (problem.where, problem.line))


def citation_problems(repository: Repository) -> list[Problem]:
    """Citations of documents in the code, the Terraform and the tests that point nowhere."""
    root = repository.root
    problems: list[Problem] = []
    for name in repository.files:
        if (
            not (name.startswith(_CODE_ROOTS) or name in _CODE_FILES)
            or Path(name).suffix not in _TEXT_SUFFIXES
            or (root == REPO_ROOT and name == _SELF)
        ):
            continue
        try:
            text = (root / name).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for match in _CITATION.finditer(text):
            path, anchor = match.group(1), (match.group(2) or "#")[1:]
            line = _line(text, match.start())
            if not (root / path).is_file():
                problems.append(Problem(name, line, f"{match.group(0)}: no such document"))
            elif (problem := _anchor_problem(root / path, anchor, match.group(0))) is not None:
                problems.append(Problem(name, line, problem))
        for match in _README_HEADING.finditer(text):
            problems.append(
                Problem(
                    name,
                    _line(text, match.start()),
                    f"{match.group(0)!r} cites a README heading: cite docs/NAME.md#anchor",
                )
            )
    return problems


@pytest.fixture(scope="module")
def repository() -> Repository:
    return Repository.at(REPO_ROOT)


def test_the_repository_has_its_documents(repository: Repository) -> None:
    # Guards the checks below against passing over nothing.
    assert {"README.md", "docs/oms.md", "docs/operations.md"} <= set(repository.markdown)
    assert len(repository.markdown) >= 10


def test_every_link_anchor_and_backticked_path_of_the_markdown_resolves(
    repository: Repository,
) -> None:
    problems = markdown_problems(repository)
    assert not problems, "\n".join(map(str, problems))


def test_every_citation_of_a_document_resolves(repository: Repository) -> None:
    problems = citation_problems(repository)
    assert not problems, "\n".join(map(str, problems))


def test_the_readme_stays_short() -> None:
    lines = (REPO_ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= 200, f"README.md has {lines} lines; move the detail into docs/"


def test_every_terraform_variable_and_output_is_in_the_deploying_guide() -> None:
    guide = (REPO_ROOT / "docs" / "deploying.md").read_text(encoding="utf-8")
    terraform = REPO_ROOT / "terraform"
    with (terraform / "variables.tf").open(encoding="utf-8") as handle:
        variables = [name.strip('"') for block in hcl2.load(handle)["variable"] for name in block]
    with (terraform / "outputs.tf").open(encoding="utf-8") as handle:
        outputs = [name.strip('"') for block in hcl2.load(handle)["output"] for name in block]
    assert len(variables) > 10
    assert len(outputs) > 10
    missing = [name for name in [*variables, *outputs] if f"`{name}`" not in guide]
    assert not missing, f"docs/deploying.md does not name {missing}"


# --- The checks can fail: a small repository with one break of each kind -----------------


def _write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def planted(tmp_path: Path) -> Repository:
    """A repository in which every kind of reference occurs once whole and once broken."""
    docs = "docs/"
    _write(tmp_path, ".gitignore", "*.tfstate\n")
    _write(tmp_path, "Makefile", "all:\n")
    _write(tmp_path, "shared/domain/conflict.py", f'"""The rule ({docs}design.md#the-rule)."""\n')
    _write(tmp_path, "shared/api/pos.py", f'"""Who may ({docs}design.md#who-may)."""\n')
    _write(
        tmp_path,
        "shared/tools/old.py",
        '"""As the README "Deploy" says, and README.md, section "Operations"."""\n'
        'LINK = "Runbook: README, Operations"\n'
        "# README's Operations section; pyproject's readme = \"README.md\" is no citation.\n",
    )
    _write(tmp_path, "terraform/main.tf", f"# {docs}missing.md\n")
    _write(
        tmp_path,
        docs + "design.md",
        "# Design\n\n## The rule\n\nText.\n\n## The `stored` order: bytes\n\n## The rule\n\n"
        "```sh\n[not a link](nowhere.md)\n`shared/not/a/path.py`\n```\n",
    )
    _write(
        tmp_path,
        "README.md",
        "# Title\n\n"
        "[the rule](docs/design.md#the-rule) and [again](docs/design.md#the-rule-1) and "
        "[stored](docs/design.md#the-stored-order-bytes) and [up](#title) and "
        "[web](https://example.com/x.md#y)\n"
        "[gone](docs/gone.md) and [no anchor](docs/design.md#the-ruel) and [self](#titel)\n"
        "`shared/domain/conflict.py`, `shared/domain/*.py`, `shared/{api,domain}/`, "
        "`Makefile`, `terraform/`, `terraform/terraform.tfstate`\n"
        "`shared/domain/rules.py` and `docs/design.md#nope` and `shared/{api,tools,ui}/`\n"
        "`make test`, `customerOrder.pickedUpAt`, `domain/conflict.py`, `ce-id`, "
        "`/business-units/BU/customer-orders`, `.venv/bin/orders-dlq`, `make\nlock`\n"
        "[ref]: docs/design.md#who-may\n",
    )
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    return Repository.at(tmp_path)


def test_the_markdown_check_finds_each_broken_link_anchor_and_path(planted: Repository) -> None:
    found = [str(problem) for problem in markdown_problems(planted)]
    assert found == [
        "README.md:4: link (docs/gone.md): no such file or folder",
        "README.md:4: link (docs/design.md#the-ruel): no heading with the anchor #the-ruel "
        "in design.md",
        "README.md:4: link (#titel): no heading with the anchor #titel in README.md",
        "README.md:6: `docs/design.md#nope`: no heading with the anchor #nope in design.md",
        "README.md:6: `shared/domain/rules.py`: no such path in the repository",
        "README.md:6: `shared/{api,tools,ui}/`: no such path in the repository",
        "README.md:9: link (docs/design.md#who-may): no heading with the anchor #who-may "
        "in design.md",
    ]


def test_the_citation_check_finds_each_broken_citation(planted: Repository) -> None:
    found = sorted(str(problem) for problem in citation_problems(planted))
    docs = "docs/"
    assert found == sorted(
        [
            "shared/api/pos.py:1: " + docs + "design.md#who-may: no heading with the anchor "
            "#who-may in design.md",
            "shared/tools/old.py:1: 'README \"D' cites a README heading: cite docs/NAME.md#anchor",
            "shared/tools/old.py:1: 'README.md, section \"O' cites a README heading: cite "
            "docs/NAME.md#anchor",
            "shared/tools/old.py:2: 'README, Operations\"' cites a README heading: cite "
            "docs/NAME.md#anchor",
            'shared/tools/old.py:3: "README\'s Operations section" cites a README heading: cite '
            "docs/NAME.md#anchor",
            "terraform/main.tf:1: " + docs + "missing.md: no such document",
        ]
    )


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("The conflict rule", "the-conflict-rule"),
        ("Reliability: what `make test` proves", "reliability-what-make-test-proves"),
        ("The search's indexes", "the-searchs-indexes"),
        ("Pub/Sub push to webhooks (issue 19)", "pubsub-push-to-webhooks-issue-19"),
        ("Limits, at the door", "limits-at-the-door"),
        ("make_test and [a link](x.md)", "make_test-and-a-link"),
    ],
)
def test_anchors_are_githubs(heading: str, anchor: str) -> None:
    assert github_anchor(heading) == anchor
