"""Just enough GraphQL to page through the fake's users.

Supported: one query operation, optionally named and with variable
definitions, selecting ``users(input: {paging: {skip, take}, filter: {email}})``
with any of ``id email firstName lastName isTenant __typename``. Values may be
literals or ``$variables`` anywhere. Anything else is an error in GraphQL's
``{"errors": [{"message": ...}]}`` shape.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from django_everreal.testing.data import FakeUser

DEFAULT_TAKE = 20
MAX_TAKE = 100

USER_FIELDS: dict[str, Callable[[FakeUser], Any]] = {
    "id": lambda user: user.id,
    "email": lambda user: user.email,
    "firstName": lambda user: user.first_name,
    "lastName": lambda user: user.last_name,
    "isTenant": lambda user: user.is_tenant,
    "__typename": lambda user: "User",
}

_TOKEN_RE = re.compile(
    r"""
    (?P<ignored>[\s,]+|\#[^\n]*)
  | (?P<spread>\.\.\.)
  | (?P<punct>[!$&()\[\]{}:=@|])
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<name>[_A-Za-z][_0-9A-Za-z]*)
    """,
    re.VERBOSE,
)


class FakeGraphQLError(Exception):
    """A query the fake cannot run; its message goes to ``errors[0].message``."""


@dataclass(frozen=True)
class Token:
    kind: str
    text: str


@dataclass
class Variable:
    name: str


@dataclass
class Field:
    name: str
    alias: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict)
    selections: list[Field] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.alias or self.name


def tokenize(source: str) -> list[Token]:
    tokens = []
    position = 0
    while position < len(source):
        match = _TOKEN_RE.match(source, position)
        if match is None:
            raise FakeGraphQLError(
                f"Syntax Error: Unexpected character {source[position]!r}."
            )
        position = match.end()
        kind = match.lastgroup or ""
        if kind != "ignored":
            tokens.append(Token(kind, match.group()))
    return tokens


class Parser:
    """Recursive descent over the tokens of one query document."""

    def __init__(self, source: str) -> None:
        self.tokens = tokenize(source)
        self.position = 0

    def peek(self) -> Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def next(self) -> Token:
        token = self.peek()
        if token is None:
            raise FakeGraphQLError("Syntax Error: Unexpected end of query.")
        self.position += 1
        return token

    def expect(self, text: str) -> None:
        token = self.next()
        if token.text != text:
            raise FakeGraphQLError(
                f"Syntax Error: Expected {text!r}, found {token.text!r}."
            )

    def skip(self, text: str) -> bool:
        token = self.peek()
        if token is not None and token.text == text and token.kind != "string":
            self.position += 1
            return True
        return False

    def name(self) -> str:
        token = self.next()
        if token.kind != "name":
            raise FakeGraphQLError(
                f"Syntax Error: Expected a name, found {token.text!r}."
            )
        return token.text

    def document(self) -> tuple[list[Field], dict[str, Any]]:
        """The top-level fields and the variables' default values."""
        defaults: dict[str, Any] = {}
        token = self.peek()
        if token is not None and token.kind == "name":
            operation = self.name()
            if operation in ("mutation", "subscription"):
                raise FakeGraphQLError(f"The fake EverReal supports no {operation}s.")
            if operation != "query":
                raise FakeGraphQLError(f"Syntax Error: Unexpected {operation!r}.")
            token = self.peek()
            if token is not None and token.kind == "name":
                self.name()
            if self.skip("("):
                while not self.skip(")"):
                    self.expect("$")
                    variable = self.name()
                    self.expect(":")
                    self.type_reference()
                    if self.skip("="):
                        defaults[variable] = self.value(constant=True)
        fields = self.selection_set()
        token = self.peek()
        if token is not None:
            raise FakeGraphQLError(
                f"Syntax Error: Unexpected {token.text!r}; the fake EverReal runs one operation."
            )
        return fields, defaults

    def type_reference(self) -> None:
        if self.skip("["):
            self.type_reference()
            self.expect("]")
        else:
            self.name()
        self.skip("!")

    def selection_set(self) -> list[Field]:
        self.expect("{")
        fields = []
        while not self.skip("}"):
            if self.skip("..."):
                raise FakeGraphQLError("The fake EverReal supports no fragments.")
            fields.append(self.field())
        if not fields:
            raise FakeGraphQLError("Syntax Error: A selection set cannot be empty.")
        return fields

    def field(self) -> Field:
        name = self.name()
        alias = None
        if self.skip(":"):
            alias, name = name, self.name()
        arguments: dict[str, Any] = {}
        if self.skip("("):
            while not self.skip(")"):
                argument = self.name()
                self.expect(":")
                arguments[argument] = self.value(constant=False)
        token = self.peek()
        if token is not None and token.text == "@":
            raise FakeGraphQLError("The fake EverReal supports no directives.")
        selections = (
            self.selection_set() if token is not None and token.text == "{" else []
        )
        return Field(name, alias, arguments, selections)

    def value(self, *, constant: bool) -> Any:
        token = self.next()
        if token.text == "$" and token.kind == "punct":
            if constant:
                raise FakeGraphQLError(
                    "Syntax Error: A default value cannot use a variable."
                )
            return Variable(self.name())
        if token.kind == "number":
            return json.loads(token.text)
        if token.kind == "string":
            return json.loads(token.text)
        if token.kind == "name":
            return {"true": True, "false": False, "null": None}.get(
                token.text, token.text
            )
        if token.text == "[":
            items = []
            while not self.skip("]"):
                items.append(self.value(constant=constant))
            return items
        if token.text == "{":
            obj = {}
            while not self.skip("}"):
                key = self.name()
                self.expect(":")
                obj[key] = self.value(constant=constant)
            return obj
        raise FakeGraphQLError(f"Syntax Error: Unexpected {token.text!r}.")


def resolve(value: Any, variables: Mapping[str, Any]) -> Any:
    """Replace variables by their values, anywhere in a value."""
    if isinstance(value, Variable):
        return variables.get(value.name)
    if isinstance(value, list):
        return [resolve(item, variables) for item in value]
    if isinstance(value, dict):
        return {key: resolve(item, variables) for key, item in value.items()}
    return value


def execute(query: Any, variables: Any, users: Sequence[FakeUser]) -> dict[str, Any]:
    """The response body for a GraphQL request: ``{"data": ...}`` or ``{"errors": [...]}``."""
    try:
        if not isinstance(query, str) or not query.strip():
            raise FakeGraphQLError("Must provide query string.")
        if variables is not None and not isinstance(variables, Mapping):
            raise FakeGraphQLError("Variables must be provided as an object.")
        fields, defaults = Parser(query).document()
        values = {**defaults, **(variables or {})}
        data = {top.key: run_field(top, values, users) for top in fields}
    except FakeGraphQLError as exc:
        return {"errors": [{"message": str(exc)}]}
    return {"data": data}


def run_field(
    top: Field, variables: Mapping[str, Any], users: Sequence[FakeUser]
) -> Any:
    if top.name == "__typename":
        return "Query"
    if top.name != "users":
        raise FakeGraphQLError(f'Cannot query field "{top.name}" on type "Query".')
    unknown = set(top.arguments) - {"input"}
    if unknown:
        raise FakeGraphQLError(
            f'Unknown argument "{sorted(unknown)[0]}" on field "Query.users".'
        )
    if not top.selections:
        raise FakeGraphQLError(
            'Field "users" of type "[User!]!" must have a selection of subfields.'
        )
    for selection in top.selections:
        if selection.name not in USER_FIELDS:
            raise FakeGraphQLError(
                f'Cannot query field "{selection.name}" on type "User".'
            )
        if selection.selections or selection.arguments:
            raise FakeGraphQLError(
                f'Field "{selection.name}" of type "User" takes no subfields.'
            )
    skip, take, email = users_input(resolve(top.arguments.get("input"), variables))
    matches = [user for user in users if email is None or email in user.email.lower()]
    return [
        {
            selection.key: USER_FIELDS[selection.name](user)
            for selection in top.selections
        }
        for user in matches[skip : skip + take]
    ]


def users_input(value: Any) -> tuple[int, int, str | None]:
    """Paging and filter from the ``input`` argument, checked like a schema would."""
    value = value or {}
    if not isinstance(value, Mapping):
        raise FakeGraphQLError('Argument "input" must be an object.')
    unknown = set(value) - {"paging", "filter"}
    if unknown:
        raise FakeGraphQLError(
            f'Field "{sorted(unknown)[0]}" is not defined by type "UsersInput".'
        )
    paging = value.get("paging") or {}
    filters = value.get("filter") or {}
    if not isinstance(paging, Mapping) or not isinstance(filters, Mapping):
        raise FakeGraphQLError('"paging" and "filter" must be objects.')
    skip = paging.get("skip", 0)
    take = paging.get("take", DEFAULT_TAKE)
    skip = 0 if skip is None else skip
    take = DEFAULT_TAKE if take is None else take
    if (
        type(skip) is not int
        or type(take) is not int
        or skip < 0
        or not 0 <= take <= MAX_TAKE
    ):
        raise FakeGraphQLError(
            f"paging.skip must be an Int >= 0 and paging.take an Int from 0 to {MAX_TAKE}."
        )
    email = filters.get("email")
    if email is not None and not isinstance(email, str):
        raise FakeGraphQLError("filter.email must be a String.")
    return skip, take, email.lower() if email else None
