"""`authflow lsp` driven over stdio by pytest-lsp (a real LSP client), as an editor would."""

from lsprotocol import types

from conftest import (
    BROKEN_FLOW,
    apply_edits,
    diagnostics_until,
    example_copy,
    open_doc,
    position_of,
    start,
)


def change(client, uri, version, text, needle, replacement, utf8=False):
    """Sends one incremental edit replacing the first `needle`; returns the new text."""
    start_pos = position_of(text, needle, utf8)
    end_pos = position_of(text, needle, utf8, after=True)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(start=start_pos, end=end_pos), text=replacement
                )
            ],
        )
    )
    return text.replace(needle, replacement, 1)


def codes(diagnostics):
    return sorted(str(d.code) for d in diagnostics)


async def test_the_editing_loop(client, workspace):
    """Open a workspace, see a broken flow's diagnostics, complete, hover, jump, fix."""
    result = await start(client, workspace)
    assert result.capabilities.position_encoding in (None, types.PositionEncodingKind.Utf16)
    flow = workspace / "flows" / "login.yaml"
    uri = flow.as_uri()
    open_doc(client, flow)
    text = BROKEN_FLOW

    # The diagnostics of the broken flow: AF030 exactly at `event.user.email`, whose line
    # holds an emoji and an accented letter before it (UTF-16 columns).
    found = await diagnostics_until(client, uri, lambda ds: any(d.code == "AF030" for d in ds))
    read = next(d for d in found if d.code == "AF030" and d.range.start.line == 7)
    assert read.range.start == position_of(text, "event.user.email")
    assert read.range.end == position_of(text, "event.user.email", after=True)
    assert read.severity == types.DiagnosticSeverity.Error
    assert "Identity Lookup" in read.message and "help:" in read.message

    # The action's own read of event.user.email is published to the action file, related
    # to the block that runs it, and shown at that block in the flow too.
    greet = (workspace / "actions" / "greet.js").as_uri()
    in_action = await diagnostics_until(client, greet, lambda ds: any(d.code == "AF030" for d in ds))
    d = next(d for d in in_action if d.code == "AF030")
    assert d.range.start.line == 1
    assert d.related_information and d.related_information[0].location.uri == uri
    assert d.related_information[0].location.range.start == position_of(text, "greet\n")
    mirrored = [x for x in found if x.code == "AF030" and x.range.start == position_of(text, "greet\n")]
    assert mirrored and mirrored[0].related_information[0].location.uri == greet

    # Completion: `event.req` in a new block's condition completes to `event.request`.
    probe = "      - id: probe\n        type: log\n        when: event.req\n        config: { message: hi }\n"
    text = change(client, uri, 2, text, "  - name: review\n", probe + "  - name: review\n")
    typed = position_of(text, "event.req\n")
    at = types.Position(line=typed.line, character=typed.character + len("event.req"))
    completion = await client.text_document_completion_async(
        types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=at)
    )
    items = completion.items if hasattr(completion, "items") else completion
    request = next(i for i in items if i.label == "request")
    completed = apply_edits(text, [request.text_edit])
    assert "        when: event.request\n" in completed
    # After Identity Lookup, event.user is offered unmarked.
    user = next(i for i in items if i.label == "user")
    assert user.label_details is None

    # Hover a field: its type, availability and the reference's note.
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=position_of(text, "hostname"),
        )
    )
    assert "event.request.hostname" in hover.contents.value
    assert "string" in hover.contents.value and "from flow start" in hover.contents.value
    assert "Host header" in hover.contents.value

    # Jump from a step read to the api.state.set that writes it.
    definition = await client.text_document_definition_async(
        types.DefinitionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=position_of(text, "requires_additional_review"),
        )
    )
    target = definition[0]
    action_text = (workspace / "actions" / "country-review.js").read_text()
    assert target.uri == (workspace / "actions" / "country-review.js").as_uri()
    assert target.range.start == position_of(action_text, "'requires_additional_review'")

    # Apply a fix and see the diagnostic cleared.
    text = change(client, uri, 3, text, "event.user.email", "event.user?.email")
    fixed = await diagnostics_until(
        client, uri, lambda ds: not any(d.code == "AF030" and d.range.start.line == 7 for d in ds)
    )
    assert any(d.code == "AF030" for d in fixed), "the greet block's read is still reported"


async def test_utf8_positions_when_the_client_offers_them(client, workspace):
    result = await start(client, workspace, utf8=True)
    assert result.capabilities.position_encoding == types.PositionEncodingKind.Utf8
    flow = workspace / "flows" / "login.yaml"
    open_doc(client, flow)
    found = await diagnostics_until(client, flow.as_uri(), lambda ds: any(d.code == "AF030" for d in ds))
    read = next(d for d in found if d.code == "AF030" and d.range.start.line == 7)
    assert read.range.start == position_of(BROKEN_FLOW, "event.user.email", utf8=True)
    assert read.range.start != position_of(BROKEN_FLOW, "event.user.email", utf8=False)


async def test_availability_marks_fields_not_yet_populated(client, workspace):
    await start(client, workspace)
    flow = workspace / "flows" / "login.yaml"
    open_doc(client, flow)
    uri = flow.as_uri()
    await diagnostics_until(client, uri, lambda ds: len(ds) > 0)
    # Inside the `vip` block, before Identity Lookup: event.user is offered but marked.
    at = position_of(BROKEN_FLOW, "event.", after=True)
    completion = await client.text_document_completion_async(
        types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=at)
    )
    items = {i.label: i for i in completion.items}
    assert items["request"].label_details is None
    assert "Identity Lookup" in items["user"].label_details.description
    assert items["user"].sort_text > items["request"].sort_text


async def test_dsl_completion_symbols_and_formatting(client, workspace):
    await start(client, workspace)
    dsl = workspace / "flows" / "review.flow"
    text = (
        "flow review\n\nstage identify {\n  identity-lookup: identity_lookup\n"
        "  password-check: password_check\n}\n\nstage post {\n"
        "  country-review: run_action { action = \"country-review\" }\n"
        "  note: log {\n    message = \"{{ step.country-review. }}\"\n  }\n"
        "  done: issue_session\n}\n"
    )
    dsl.write_text(text)
    open_doc(client, dsl, "authflow")
    uri = dsl.as_uri()

    async def labels(needle, after=True):
        result = await client.text_document_completion_async(
            types.CompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=position_of(text, needle, after=after),
            )
        )
        return {i.label: i for i in result.items}

    # step.<slug>.<key> from the upstream action's writes.
    keys = await labels("step.country-review.")
    assert "requires_additional_review" in keys
    assert keys["requires_additional_review"].label_details is None
    # Block types after `id:`.
    types_here = await labels("done: ")
    assert {"identity_lookup", "issue_session", "branch"} <= set(types_here)
    # Config keys of the block's type.
    keys = await labels("    message", after=False)
    assert "level" in keys and "message" not in keys

    symbols = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    assert [s.name for s in symbols] == ["identify", "post"]
    assert [c.name for c in symbols[1].children] == ["country-review", "note", "done"]

    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            options=types.FormattingOptions(tab_size=2, insert_spaces=True),
        )
    )
    formatted = apply_edits(text, edits)
    assert "country-review: run_action {\n    action = \"country-review\"\n  }" in formatted


async def test_definitions_of_actions_branch_targets_and_module_pins(client, tmp_path):
    root = example_copy(tmp_path, "action-modules")
    await start(client, root)
    meta = root / "actions" / "audit-login.yaml"
    open_doc(client, meta)
    meta_text = meta.read_text()
    result = await client.text_document_definition_async(
        types.DefinitionParams(
            text_document=types.TextDocumentIdentifier(uri=meta.as_uri()),
            position=position_of(meta_text, "logger: 2"),
        )
    )
    assert result[0].uri == (root / "modules" / "logger" / "v2.js").as_uri()

    flow = root / "flows" / "login.yaml"
    open_doc(client, flow)
    flow_text = flow.read_text()
    result = await client.text_document_definition_async(
        types.DefinitionParams(
            text_document=types.TextDocumentIdentifier(uri=flow.as_uri()),
            position=position_of(flow_text, "action: audit-login", after=True),
        )
    )
    assert result[0].uri == (root / "actions" / "audit-login.js").as_uri()


async def test_hover_explains_diagnostic_codes_and_block_types(client, workspace):
    await start(client, workspace)
    flow = workspace / "flows" / "login.yaml"
    open_doc(client, flow)
    uri = flow.as_uri()
    await diagnostics_until(client, uri, lambda ds: len(ds) > 0)
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=position_of(BROKEN_FLOW, "user.email"),
        )
    )
    assert "AF030" in hover.contents.value and "Why it matters" in hover.contents.value
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=position_of(BROKEN_FLOW, "identity_lookup"),
        )
    )
    assert "Identity Lookup" in hover.contents.value and "event.user" in hover.contents.value


async def test_stream_files_complete_event_types_and_report_unknown_ones(client, tmp_path):
    root = example_copy(tmp_path, "event-stream")
    await start(client, root)
    stream = root / "streams" / "users.yaml"
    text = "events:\n  - user.create\nactions:\n  - forward-logins\n"
    stream.write_text(text)
    open_doc(client, stream)
    uri = stream.as_uri()
    # The misspelled type is check's AF090, in the stream file, with its suggestion.
    found = await diagnostics_until(client, uri, lambda ds: "AF090" in codes(ds))
    typo = [d for d in found if str(d.code) == "AF090"][0]
    assert "user.created" in typo.message or "user.created" in str(typo.related_information)
    # Completion of an event type offers the catalogue's types, with what each carries.
    at = position_of(text, "user.create", after=True)
    completion = await client.text_document_completion_async(
        types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=at)
    )
    items = {i.label: i for i in completion.items}
    assert {"user.created", "user.updated", "user.deleted", "login.succeeded", "login.failed"} <= set(items)
    assert "carries event.user" in items["user.updated"].detail
    # The bound actions: the workspace's event-stream action, with the types it handles.
    at = position_of(text, "  - forward-logins", after=True)
    completion = await client.text_document_completion_async(
        types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=at)
    )
    items = {i.label: i for i in completion.items}
    assert "login.succeeded" in items["forward-logins"].detail
    # Hover on a type in the example's own stream file explains what it carries.
    logins = root / "streams" / "logins.yaml"
    open_doc(client, logins)
    logins_text = logins.read_text()
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=logins.as_uri()),
            position=position_of(logins_text, "login.succeeded"),
        )
    )
    assert "event type `login.succeeded`" in hover.contents.value
    assert "event.user" in hover.contents.value


async def test_test_files_show_checks_diagnostics_from_their_unsaved_buffers(client, tmp_path):
    root = example_copy(tmp_path, "deny-tor")
    await start(client, root)
    suite = root / "tests" / "login.test.yaml"
    open_doc(client, suite)
    uri = suite.as_uri()
    text = suite.read_text()
    # The example's tests are clean: the open file gets its (empty) list.
    await diagnostics_until(client, uri, lambda ds: len(ds) == 0)
    # An expectation naming a block the flow lacks, typed but not saved: check's AF060, at
    # the name in the buffer, with its suggestion.
    text = change(client, uri, 2, text, "denied: [deny-tor]", "denied: [deny-torr]")
    found = await diagnostics_until(client, uri, lambda ds: "AF060" in codes(ds))
    typo = next(d for d in found if str(d.code) == "AF060")
    assert typo.range.start == position_of(text, "deny-torr")
    assert typo.range.end == position_of(text, "deny-torr", after=True)
    assert "the flow has no block `deny-torr`" in typo.message
    assert "did you mean `deny-tor`?" in typo.message
    assert typo.severity == types.DiagnosticSeverity.Error
    assert suite.read_text() != text, "the diagnostic came from the buffer, not the disk"
    # Fixed in the buffer, the file's diagnostics clear.
    change(client, uri, 3, text, "denied: [deny-torr]", "denied: [deny-tor]")
    await diagnostics_until(client, uri, lambda ds: len(ds) == 0)
