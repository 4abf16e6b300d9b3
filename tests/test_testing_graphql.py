"""The fake's GraphQL slice: the users query, paging, filter and errors."""

from __future__ import annotations

import pytest
import requests

from django_everreal.testing import errors
from django_everreal.testing.data import demo_users
from django_everreal.testing.graphql import Variable
from django_everreal.testing.graphql import execute
from django_everreal.testing.graphql import resolve
from tests import test_testing_fake

# The fake of the fake's own tests, on a fixed clock: defined once, there.
clock = test_testing_fake.clock
fake = test_testing_fake.fake

GRAPHQL_URL = "https://demo.everreal.co/api/reporting/graphql"
TIMEOUT = 5
QUERY = "query Users($input: UsersInput) { users(input: $input) { id email } }"


@pytest.fixture
def access_token(fake):
    return fake.issue_tokens("anna@example.com")["access_token"]


@pytest.fixture
def graphql(access_token):
    def post(query, variables=None):
        body = {"query": query}
        if variables is not None:
            body["variables"] = variables
        return requests.post(
            GRAPHQL_URL,
            json=body,
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=TIMEOUT,
        )

    return post


def emails(fake):
    return [user.email for user in fake.users]


def test_users_with_variables_and_paging(fake, graphql):
    response = graphql(QUERY, {"input": {"paging": {"skip": 2, "take": 3}}})
    assert response.status_code == 200
    users = response.json()["data"]["users"]
    assert [u["email"] for u in users] == emails(fake)[2:5]
    assert users[0] == {"id": fake.users[2].id, "email": fake.users[2].email}


def test_pages_cover_the_directory(fake, graphql):
    seen: list[str] = []
    skip = 0
    while True:
        page = graphql(QUERY, {"input": {"paging": {"skip": skip, "take": 5}}}).json()[
            "data"
        ]["users"]
        if not page:
            break
        seen.extend(u["email"] for u in page)
        skip += 5
    assert seen == emails(fake)
    assert len(seen) >= 12


def test_users_with_inline_literals_and_field_selection(fake, graphql):
    query = """
    # the directory, filtered
    {
      people: users(input: {paging: {skip: 0, take: 10}, filter: {email: "TOM@example.com"}}) {
        id, email firstName lastName isTenant __typename
      }
    }
    """
    body = graphql(query).json()
    tom = fake.user("tom@example.com")
    assert body == {
        "data": {
            "people": [
                {
                    "id": tom.id,
                    "email": "tom@example.com",
                    "firstName": "Tom",
                    "lastName": "Meyer",
                    "isTenant": True,
                    "__typename": "User",
                }
            ]
        }
    }


def test_variables_inside_literals_and_defaults(fake, graphql):
    query = """query ($skip: Int = 1, $email: String) {
      users(input: {paging: {skip: $skip, take: 2}, filter: {email: $email}}) { email }
    }"""
    assert graphql(query, {"email": "example.com"}).json()["data"]["users"] == [
        {"email": e} for e in emails(fake)[1:3]
    ]
    assert graphql(query, {"skip": 0, "email": "anna@"}).json()["data"]["users"] == [
        {"email": "anna@example.com"}
    ]


def test_no_input_gives_the_first_page(fake, graphql):
    users = graphql("{ users { email } }").json()["data"]["users"]
    assert [u["email"] for u in users] == emails(fake)[:20]


@pytest.mark.parametrize(
    ("query", "variables", "message"),
    [
        (
            "{ properties { id } }",
            None,
            'Cannot query field "properties" on type "Query".',
        ),
        (
            "{ users { id password } }",
            None,
            'Cannot query field "password" on type "User".',
        ),
        ("{ users { id }", None, "Syntax Error"),
        ("mutation { users { id } }", None, "no mutations"),
        ("{ users }", None, "must have a selection"),
        ("{ users(input: {paging: {take: -1}}) { id } }", None, "paging"),
        ("{ users(first: 3) { id } }", None, 'Unknown argument "first"'),
        (QUERY, {"input": {"paging": {"skip": "x"}}}, "paging"),
        ("{ ...F }", None, "fragments"),
        ("", None, "Must provide query string."),
    ],
)
def test_errors_come_back_in_graphql_shape(graphql, query, variables, message):
    response = graphql(query, variables)
    assert response.status_code == 200
    body = response.json()
    assert "data" not in body
    assert message in body["errors"][0]["message"]


def test_graphql_needs_a_json_body(access_token):
    response = requests.post(
        GRAPHQL_URL,
        data="{ users { id } }",
        headers={
            "Authorization": f"Bearer {access_token}",
            "Content-Type": "text/plain",
        },
        timeout=TIMEOUT,
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"]


def test_graphql_needs_a_bearer_token(fake):
    response = requests.post(GRAPHQL_URL, json={"query": QUERY}, timeout=TIMEOUT)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert response.json()["error_description"] == errors.ACCESS_TOKEN_MISSING


def test_graphql_has_its_own_rate_limit(fake, graphql, access_token):
    fake.rate_limit = 1
    assert graphql(QUERY).headers["X-RateLimit-Remaining"] == "0"
    assert graphql(QUERY).status_code == 429
    userinfo = requests.get(
        "https://demo.everreal.co/accounts/api/userinfo",
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=TIMEOUT,
    )
    assert userinfo.status_code == 200


def test_graphql_faults(fake, graphql):
    fake.fail_next("graphql", 500)
    assert graphql(QUERY).status_code == 500
    assert graphql(QUERY).status_code == 200


# The parser and the schema checks, without HTTP.


@pytest.mark.parametrize(
    ("query", "variables", "message"),
    [
        ("{ users { id } } %", None, "Unexpected character '%'"),
        ("query Users($input UsersInput) { users { id } }", None, "Expected ':'"),
        ("{ users { 3 } }", None, "Expected a name, found '3'"),
        ("{ users { id", None, "Unexpected end of query"),
        ("fragment F on User { id }", None, "Unexpected 'fragment'"),
        ("subscription { users { id } }", None, "no subscriptions"),
        ("{ users { id } } { users { id } }", None, "runs one operation"),
        ("{ }", None, "A selection set cannot be empty"),
        ("{ users @include(if: true) { id } }", None, "no directives"),
        (
            "query ($a: Int = $b) { users { id } }",
            None,
            "A default value cannot use a variable",
        ),
        ("{ users(input: ) { id } }", None, "Unexpected ')'"),
        ("{ users { id } }", ["not", "an", "object"], "Variables must be provided"),
        ("{ users { id(size: 2) } }", None, '"id" of type "User" takes no subfields'),
        ("{ users { email { x } } }", None, '"email" of type "User" takes no'),
        ("{ users(input: [1]) { id } }", None, 'Argument "input" must be an object'),
        ("{ users(input: {sort: 1}) { id } }", None, 'Field "sort" is not defined'),
        ("{ users(input: {paging: 3}) { id } }", None, "must be objects"),
        ("{ users(input: {filter: [1]}) { id } }", None, "must be objects"),
        ("{ users(input: {paging: {take: ten}}) { id } }", None, "paging.take"),
        ("{ users(input: {paging: {take: 101}}) { id } }", None, "paging.take"),
        ("{ users(input: {paging: {skip: 1.5}}) { id } }", None, "paging.skip"),
        ("{ users(input: {filter: {email: 3}}) { id } }", None, "filter.email"),
        (
            "query ($e: [String!]!) { users(input: {filter: {email: $e}}) { id } }",
            {"e": ["anna"]},
            "filter.email must be a String",
        ),
        (None, None, "Must provide query string."),
        ("   ", None, "Must provide query string."),
    ],
)
def test_queries_the_fake_cannot_run_are_graphql_errors(query, variables, message):
    body = execute(query, variables, demo_users())
    assert set(body) == {"errors"}
    [error] = body["errors"]
    assert message in error["message"]


def test_typename_aliases_and_literal_values():
    users = demo_users()
    query = """
    query Page($paging: PagingInput = {skip: 1, take: 2}, $tags: [[String]] = [["a"], []]) {
      kind: __typename
      first: users(input: {paging: $paging, filter: {email: null}}) { who: email isTenant }
      all: users(input: {paging: {skip: 0, take: 100}, filter: {email: "EXAMPLE.com"}}) { id }
    }
    """
    body = execute(query, None, users)
    assert body == {
        "data": {
            "kind": "Query",
            "first": [
                {"who": user.email, "isTenant": user.is_tenant} for user in users[1:3]
            ],
            "all": [{"id": user.id} for user in users if "example.com" in user.email],
        }
    }


def test_variables_override_defaults_and_reach_into_lists():
    users = demo_users()
    query = """query ($take: Int = 1, $skip: Int) {
      users(input: {paging: {skip: $skip, take: $take}}) { email }
    }"""
    assert execute(query, {}, users)["data"]["users"] == [{"email": users[0].email}]
    page = execute(query, {"take": 2, "skip": 3}, users)["data"]["users"]
    assert page == [{"email": user.email} for user in users[3:5]]
    # A named query without variables; null paging values mean the defaults.
    query = "query First { users(input: {paging: {take: 1, skip: null}}) { email } }"
    assert execute(query, None, users)["data"]["users"] == [{"email": users[0].email}]
    # take 0 is an empty page.
    query = "{ users(input: {paging: {skip: null, take: 0}}) { email } }"
    assert execute(query, None, users) == {"data": {"users": []}}


def test_resolve_replaces_variables_inside_lists():
    assert resolve([Variable("a"), {"b": [Variable("c"), 1]}], {"a": 1, "c": 2}) == [
        1,
        {"b": [2, 1]},
    ]
    assert resolve(Variable("missing"), {}) is None
