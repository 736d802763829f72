"""Fixtures: a scratch workspace copied from the examples, and pytest-lsp clients that start
`authflow lsp` over stdio with the capabilities real editors send."""

import asyncio
import os
import pathlib
import shutil

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

REPO = pathlib.Path(__file__).resolve().parents[2]
AUTHFLOW = os.environ.get("AUTHFLOW_BIN", str(REPO / "target" / "debug" / "authflow"))
SERVER = ClientServerConfig(server_command=[AUTHFLOW, "lsp"])

# A Login flow with the mistakes the issue names: a read of event.user before Identity
# Lookup (behind non-ASCII text on the same line), and an action that reads event.user.email
# run before Identity Lookup.
BROKEN_FLOW = """\
flow: login
description: "Régional review 🔒"
stages:
  - name: pre
    blocks:
      - id: vip
        type: deny
        when: event.request.hostname == "🔒é" || event.user.email == "x@example.com"
        config:
          reason: blocked
      - id: greet
        type: run_action
        config:
          action: greet
  - name: identify
    blocks:
      - id: identity-lookup
        type: identity_lookup
      - id: password-check
        type: password_check
  - name: post-auth
    blocks:
      - id: country-review
        type: run_action
        config:
          action: country-review
      - id: skip-review
        type: branch
        when: step.country-review.requires_additional_review == false
        config:
          to: issue-session
  - name: review
    blocks:
      - id: step-up
        type: mfa
  - name: issue
    blocks:
      - id: issue-session
        type: issue_session
"""

GREET_JS = """\
exports.handler = async (event, api) => {
  api.log('info', `hello ${event.user.email}`)
}
"""


# The git-ignored store of runs made by hand in an example is not part of it.
LOCAL_STORE = shutil.ignore_patterns(".authflow")


@pytest.fixture
def workspace(tmp_path):
    """The regional-review example, its flow replaced by BROKEN_FLOW, plus the greet action."""
    root = tmp_path / "ws"
    shutil.copytree(REPO / "examples" / "regional-review", root, ignore=LOCAL_STORE)
    (root / "flows" / "login.yaml").write_text(BROKEN_FLOW)
    (root / "actions" / "greet.js").write_text(GREET_JS)
    (root / "actions" / "greet.yaml").write_text("name: greet\nenabled: true\n")
    (root / "actions" / "old.js").write_text(
        "exports.handler = async (event, api) => {}\n"
    )
    (root / "actions" / "old.yaml").write_text("name: old\nenabled: false\n")
    return root


def example_copy(tmp_path: pathlib.Path, name: str) -> pathlib.Path:
    """A copy of `examples/<name>` under `tmp_path`, for scenarios that edit it."""
    root = tmp_path / f"{name}-ws"
    shutil.copytree(REPO / "examples" / name, root, ignore=LOCAL_STORE)
    return root


async def start(client: LanguageClient, root: pathlib.Path, utf8: bool = False):
    capabilities = client_capabilities("visual-studio-code")
    if utf8:
        capabilities.general = types.GeneralClientCapabilities(
            position_encodings=[types.PositionEncodingKind.Utf8, types.PositionEncodingKind.Utf16]
        )
    return await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities,
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="ws")],
        )
    )


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient):
    # The editors whose capabilities these tests send accept dynamic registrations; the test
    # client records them.
    lsp_client.registrations = []

    @lsp_client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(params: types.RegistrationParams):
        lsp_client.registrations.extend(params.registrations)

    yield
    await lsp_client.shutdown_session()


async def diagnostics_until(client: LanguageClient, uri: str, predicate, timeout=10.0):
    """Waits for published diagnostics of `uri` that satisfy `predicate`; returns them."""

    async def wait():
        while True:
            current = client.diagnostics.get(uri)
            if current is not None and predicate(current):
                return current
            await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)

    try:
        return await asyncio.wait_for(wait(), timeout)
    except asyncio.TimeoutError:
        raise AssertionError(
            f"no diagnostics for {uri} matched within {timeout}s; last: {client.diagnostics.get(uri)}"
        )


def utf16_column(line: str, char_index: int) -> int:
    return len(line[:char_index].encode("utf-16-le")) // 2


def position_of(text: str, needle: str, utf8: bool = False, after: bool = False):
    """The LSP position of the first `needle` in `text` (its end when `after`)."""
    index = text.index(needle) + (len(needle) if after else 0)
    line = text.count("\n", 0, index)
    line_start = text.rfind("\n", 0, index) + 1
    column = (
        len(text[line_start:index].encode("utf-8"))
        if utf8
        else utf16_column(text[line_start:], index - line_start)
    )
    return types.Position(line=line, character=column)


def open_doc(client: LanguageClient, path: pathlib.Path, language: str = "yaml"):
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=path.as_uri(), language_id=language, version=1, text=path.read_text()
            )
        )
    )


def apply_edits(text: str, edits, utf8: bool = False) -> str:
    """Applies LSP text edits (from the end backwards) to `text`."""

    def offset(pos):
        lines = text.split("\n")
        base = sum(len(l) + 1 for l in lines[: pos.line])
        line = lines[pos.line] if pos.line < len(lines) else ""
        if utf8:
            return base + len(line.encode("utf-8")[: pos.character].decode("utf-8"))
        count = 0
        for i, ch in enumerate(line):
            if count >= pos.character:
                return base + i
            count += len(ch.encode("utf-16-le")) // 2
        return base + len(line)

    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        text = text[: offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end) :]
    return text
