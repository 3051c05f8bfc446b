"""Document limits, checked before a document is validated or kept: tokens, aliases, depth.

Strawberry's own parts do not fit as they are: ``ParserCache`` and ``ValidationCache``
keep every document they see, refused ones too, in caches bounded only in entries
(a 1 MiB document is one entry); ``MaxAliasesLimiter`` and ``QueryDepthLimiter`` are
validation rules that run after the document is parsed and cached, and they walk a
fragment once per spread, which is exponential for fragments that spread each other
twice. Here the parser itself stops at the token limit (graphql-core's
``max_lexical_tokens``), aliases and depth are counted once per fragment, and only a
document that passed every check and validation is cached, in a cache bounded in
entries and in characters.

One validation rule is quadratic within those limits: graphql-core compares every
pair of fields of one response name in a selection set (OverlappingFieldsCanBeMerged).
Its own budget for that work, 500,000 units by default, let 399 ``me { username }``
(1,999 tokens, no alias) hold the event loop for over a second; ``COMPARISON_BUDGET``
bounds it to a few milliseconds, far above what any of graphql/operations/ spends.

Even within the limits, parsing and validating the largest documents takes tens of
milliseconds of CPU (2,000 tokens of one repeated field: about 40 ms), and on the
event loop every other request (``validateToken``, ``/healthz``) would wait that long.
So a document longer than ``ON_LOOP_CHARACTERS`` that is not cached yet is parsed and
validated beside the loop, in a pool of one thread (one such document at a time: the
others wait for it, the loop does not). Shorter ones, every operation of
graphql/operations/ among them, cost at most a few milliseconds and stay on the loop.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from graphql.language.ast import Token
from graphql.language.parser import Parser, nested_too_deeply_error
from graphql.validation.rules import overlapping_fields_can_be_merged
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    validate,
)
from schema.arguments import check_literals, check_variables

T = TypeVar("T")

DEFAULT_MAX_QUERY_TOKENS = 2_000
DEFAULT_MAX_ALIASES = 30
DEFAULT_MAX_QUERY_DEPTH = 10

# Comments are not tokens to graphql-core's ``max_lexical_tokens`` but are kept in memory
# all the same; a document needs none, so they get a bound of their own.
MAX_COMMENTS = 100
# Longest document text: one string literal is one token however long, and every
# argument SAT takes is short. The operations in graphql/operations/ are under 2,000.
MAX_DOCUMENT_CHARACTERS = 100_000

# Longer documents are parsed and validated beside the event loop, one at a time.
ON_LOOP_CHARACTERS = 1_000
_beside_the_loop = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sat-documents")

# The parsed and validated documents kept for reuse: in entries and in characters of
# their text (a parsed document takes memory in proportion to its text and tokens).
CACHED_DOCUMENTS = 256
CACHED_DOCUMENT_CHARACTERS = 2_000_000

# graphql-core's budget for comparing overlapping fields (a comparison costs 2 units): past
# it, validation stops with "Validation aborted.". Read by graphql-core at each validation.
COMPARISON_BUDGET = 10_000
overlapping_fields_can_be_merged.MAX_COMPLEXITY_BUDGET = COMPARISON_BUDGET

PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
BAD_REQUEST = "BAD_REQUEST"


@dataclass(frozen=True, slots=True)
class DocumentLimits:
    max_tokens: int = DEFAULT_MAX_QUERY_TOKENS
    max_aliases: int = DEFAULT_MAX_ALIASES
    max_depth: int = DEFAULT_MAX_QUERY_DEPTH


def refusal(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


def parse_within(query: str, limits: DocumentLimits) -> DocumentNode:
    """Parse ``query``, stopping as soon as it passes a limit; then count aliases and depth.

    Raises a ``GraphQLError`` coded ``GRAPHQL_PARSE_FAILED`` for a syntax error and
    ``GRAPHQL_VALIDATION_FAILED`` for a limit.
    """
    parser = None
    try:
        # The source's length is checked here, before any token is read.
        parser = Parser(
            query,
            max_lexical_tokens=limits.max_tokens,
            max_comments=MAX_COMMENTS,
            max_source_length=MAX_DOCUMENT_CHARACTERS,
        )
        try:
            document = parser.parse_document()
        except RecursionError:
            raise nested_too_deeply_error(parser) from None
    except GraphQLError as error:
        # graphql-core's limits stop the parser with "... Parsing aborted."
        aborted = error.message.endswith("Parsing aborted.")
        error.extensions = {"code": VALIDATION_FAILED if aborted else PARSE_FAILED}
        # Without the parser's frames: they hold the partial document, which would
        # live on as long as the error, beyond the collection that follows the parse.
        raise error.with_traceback(None) from None
    finally:
        if parser is not None:
            _unlink_tokens(parser)
        del parser
    try:
        check_shape(document, limits)
    except GraphQLError as error:
        del document  # as above: not kept alive by the error's frames
        raise error.with_traceback(None) from None
    return document


def _unlink_tokens(parser: Parser) -> None:
    """Break the cycles of the parser's tokens, so that memory is freed as soon as unused.

    graphql-core links tokens both ways (``prev`` and ``next``, for the lexer's
    lookahead): every parsed document was cyclic garbage, freed only by the garbage
    collector, which a stream of large documents made run full collections of 100 ms
    and more, pausing every request. Nothing reads ``prev`` once parsing is over.
    """
    last = parser._lexer.token
    while last.next is not None:  # tokens read ahead
        last = last.next
    token: Token | None = last
    while token is not None:
        token.prev, token = None, token.prev


def check_shape(document: DocumentNode, limits: DocumentLimits) -> None:
    """Refuse a parsed document with too many aliases or too deep a selection."""
    counter = _Counter(document)
    aliases = 0
    depth = 0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            found_aliases, found_depth = counter.measure(definition.selection_set)
            aliases += found_aliases
            depth = max(depth, found_depth)
    if aliases > limits.max_aliases:
        raise refusal(f"Document has more than {limits.max_aliases} aliases.", VALIDATION_FAILED)
    if depth > limits.max_depth:
        raise refusal(f"Document is deeper than {limits.max_depth} fields.", VALIDATION_FAILED)


class _Counter:
    """Aliases (as executed: each fragment spread counts in full) and field depth.

    Each fragment is measured once and its figures reused at every spread, so the
    work is linear in the document however fragments nest. Introspection fields
    (``__schema``, ``__type``) are not counted, nor anything below them. A fragment
    that spreads itself counts as empty here; validation refuses it.
    """

    def __init__(self, document: DocumentNode) -> None:
        self._fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self._measured: dict[str, tuple[int, int]] = {}
        self._measuring: set[str] = set()

    def measure(self, selection_set: SelectionSetNode | None) -> tuple[int, int]:
        """(aliases, depth) of a selection set; depth 1 for a set of leaf fields."""
        aliases = 0
        depth = 0
        for selection in _selections(selection_set):
            if isinstance(selection, FieldNode):
                if selection.name.value.startswith("__") and selection.selection_set is not None:
                    continue  # introspection: its depth is the schema's, not the caller's
                below_aliases, below_depth = self.measure(selection.selection_set)
                aliases += below_aliases + (1 if selection.alias else 0)
                depth = max(depth, below_depth + 1)
            elif isinstance(selection, InlineFragmentNode):
                below_aliases, below_depth = self.measure(selection.selection_set)
                aliases += below_aliases
                depth = max(depth, below_depth)
            elif isinstance(selection, FragmentSpreadNode):
                below_aliases, below_depth = self._fragment(selection.name.value)
                aliases += below_aliases
                depth = max(depth, below_depth)
            # Counts grow by multiplication through spreads: cap them, a refusal is certain.
            aliases = min(aliases, _CAP)
        return aliases, depth

    def _fragment(self, name: str) -> tuple[int, int]:
        if name in self._measured:
            return self._measured[name]
        fragment = self._fragments.get(name)
        if fragment is None or name in self._measuring:
            return 0, 0
        self._measuring.add(name)
        figures = self.measure(fragment.selection_set)
        self._measuring.discard(name)
        self._measured[name] = figures
        return figures


_CAP = 1 << 30


def _selections(selection_set: SelectionSetNode | None) -> Sequence[object]:
    return () if selection_set is None else selection_set.selections


def choose_operation(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode:
    """The one operation a request runs; ``BAD_REQUEST`` when that is not clear."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        if len(operations) == 1:
            return operations[0]
        if not operations:
            raise refusal("Document contains no operation.", BAD_REQUEST)
        raise refusal(
            "Document contains several operations: operationName must name one.", BAD_REQUEST
        )
    for operation in operations:
        if operation.name is not None and operation.name.value == operation_name:
            return operation
    raise refusal(f"Document has no operation named {operation_name[:100]!r}.", BAD_REQUEST)


@dataclass(frozen=True, slots=True)
class CheckedDocument:
    """A document that passed every check, and what its execution needs of those checks."""

    document: DocumentNode
    # Variable name -> the argument or input field it is passed to (``check_variables``).
    variable_arguments: Mapping[str, str]


class DocumentCache:
    """Validated documents by text, least recently used dropped first; bounded in both ways."""

    def __init__(
        self,
        *,
        max_entries: int = CACHED_DOCUMENTS,
        max_characters: int = CACHED_DOCUMENT_CHARACTERS,
    ) -> None:
        self.max_entries = max_entries
        self.max_characters = max_characters
        self._documents: OrderedDict[str, CheckedDocument] = OrderedDict()
        self._characters = 0

    def get(self, query: str) -> CheckedDocument | None:
        checked = self._documents.get(query)
        if checked is not None:
            self._documents.move_to_end(query)
        return checked

    def put(self, query: str, document: CheckedDocument) -> None:
        if len(query) > self.max_characters or query in self._documents:
            return
        self._documents[query] = document
        self._characters += len(query)
        while len(self._documents) > self.max_entries or self._characters > self.max_characters:
            dropped, _ = self._documents.popitem(last=False)
            self._characters -= len(dropped)

    def __len__(self) -> int:
        return len(self._documents)

    @property
    def characters(self) -> int:
        return self._characters

    def __iter__(self) -> Iterator[str]:
        return iter(self._documents)


class DocumentGuard(SchemaExtension):
    """Parse within the limits, pick the one operation, validate; cache only what passed.

    Takes the place of Strawberry's ``ParserCache`` and ``ValidationCache``.
    """

    def __init__(self, *, limits: DocumentLimits, cache: DocumentCache, suggestions: bool) -> None:
        super().__init__()
        self.limits = limits
        self.cache = cache
        self.suggestions = suggestions
        self._checked: CheckedDocument | None = None

    async def on_parse(self) -> AsyncIterator[None]:
        context = self.execution_context
        query = context.query
        if query is not None:
            self._checked = self.cache.get(query)
            if self._checked is None:
                document = await self._beside_the_loop_if_long(parse_within, query, self.limits)
            else:
                document = self._checked.document
            choose_operation(document, context.operation_name)
            context.graphql_document = document
        yield

    async def on_validate(self) -> AsyncIterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if self._checked is not None:
            context.pre_execution_errors = []
        elif document is not None and context.pre_execution_errors is None:
            errors, self._checked = await self._beside_the_loop_if_long(self._validate, document)
            context.pre_execution_errors = errors
            if self._checked is not None and context.query is not None:
                self.cache.put(context.query, self._checked)
        yield

    def _validate(
        self, document: DocumentNode
    ) -> tuple[list[GraphQLError], CheckedDocument | None]:
        """The errors of ``document``, or none and it checked (its literals too)."""
        context = self.execution_context
        errors = validate(
            context.schema._schema,
            document,
            (*context.validation_rules, MaybeNullValidationRule, OneOfInputValidationRule),
            hide_suggestions=not self.suggestions,
        )
        for error in errors:
            error.extensions = {**(error.extensions or {}), "code": VALIDATION_FAILED}
        if errors:
            return errors, None
        return [], CheckedDocument(document, check_literals(document))

    async def _beside_the_loop_if_long(self, work: Callable[..., T], *arguments: Any) -> T:
        query = self.execution_context.query
        if query is None or len(query) <= ON_LOOP_CHARACTERS:
            return _collected_after(work, *arguments)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            _beside_the_loop, functools.partial(_collected_after, work, *arguments)
        )

    def on_execute(self) -> Iterator[None]:
        if self._checked is None:  # fail closed: nothing runs that was not checked here
            raise RuntimeError("a document reached execution without the document guard's checks")
        check_variables(self.execution_context.variables, self._checked.variable_arguments)
        yield


def _collected_after(work: Callable[..., T], *arguments: Any) -> T:
    """Run ``work`` with the garbage collector paused, then collect the young objects once.

    graphql-core's validation leaves its work in reference cycles (the overlapping-
    fields rule's comparisons, with the document they point into): left to the
    collector, each large document's 20,000 objects and more were traversed again by
    every collection while alive, then promoted and freed by full collections of
    100 ms. Paused, everything the work made is young; one young collection frees it
    (a few ms for the largest, well under one for the others). The loop and the thread
    beside it may overlap: the pause is shared, and the last to finish resumes and
    collects. A collector paused by someone else is left as it is.
    """
    global _pausing
    with _pause:
        joined = _pausing > 0 or gc.isenabled()
        if joined:
            gc.disable()
            _pausing += 1
    if not joined:
        return work(*arguments)
    try:
        return work(*arguments)
    finally:
        with _pause:
            _pausing -= 1
            last = _pausing == 0
            if last:
                gc.enable()
        if last:
            gc.collect(0)


# Pauses of the collector under way (see ``_collected_after``), counted under a lock.
_pause = threading.Lock()
_pausing = 0
