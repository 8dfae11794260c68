"""Firestore as deployed serves every query the code runs: each composite index the panel's query
list needs is declared, no other is, they are created one at a time, and no index exemption takes
away a field some query filters or orders on."""

from __future__ import annotations

import ast
from collections import Counter

from catalogist.panel.queries import QUERIES, composite_indexes
from catalogist.settings import Settings
from tests.terraform.hcl import REPO, Resource, Terraform, attr, blocks, expr, load

Index = tuple[str, tuple[tuple[str, str], ...]]

# Queries outside the panel's list, found by the AST check below: the ledger's other generations
# of an object (intake/ledger.py: find on uploads.object_key), a one-field filter that a
# single-field index serves. (The emulator adapter's sweep of old revision claims runs only
# against the local emulator.)
OTHER_QUERIES = {"find": ("uploads", "object_key")}


def declared_indexes(tf: Terraform) -> list[Index]:
    declared = []
    for index in tf.of_type("google_firestore_index"):
        fields = tuple(
            (attr(f, "field_path"), attr(f, "order"))
            for f in blocks(index.body, "fields")
            if attr(f, "field_path") != "__name__"  # Firestore appends it on its own
        )
        declared.append((attr(index.body, "collection"), fields))
    return declared


def index_differences(declared: list[Index], needed: list[Index]) -> tuple[set[Index], set[Index], set[Index]]:
    """(needed but missing, declared but needed by no query, declared more than once)."""
    twice = {index for index, count in Counter(declared).items() if count > 1}
    return set(needed) - set(declared), set(declared) - set(needed), twice


def test_the_declared_indexes_are_exactly_the_ones_the_queries_need() -> None:
    missing, unused, twice = index_differences(declared_indexes(load()), composite_indexes())

    assert not missing, f"queries would fail with FAILED_PRECONDITION: declare {sorted(missing)}"
    assert not unused, f"no query uses {sorted(unused)}: remove it, or add its query to panel/queries.py"
    assert not twice


def test_the_comparison_sees_a_missing_index_and_an_extra_one() -> None:
    needed = composite_indexes()
    extra = ("products", (("brand", "ASCENDING"), ("updated_at", "DESCENDING")))

    missing, unused, twice = index_differences([*needed[1:], extra, needed[2]], needed)

    assert (missing, unused, twice) == ({needed[0]}, {extra}, {needed[2]})


def test_indexes_are_created_one_after_another() -> None:
    tf = load()
    indexes = tf.of_type("google_firestore_index")

    # A single chain: each index waits for exactly one other, and all hang off the database.
    previous = {index.address: index.depends_on() for index in indexes}
    roots = [address for address, before in previous.items() if before == ["google_firestore_database.this"]]
    assert len(roots) == 1
    chain, seen = roots[0], [roots[0]]
    followers = {before[0]: address for address, before in previous.items() if before[0] in previous}
    assert len(followers) == len(indexes) - 1, "two indexes wait for the same one: they would be built in parallel"
    while chain in followers:
        chain = followers[chain]
        seen.append(chain)
    assert len(seen) == len(indexes)


def _field_resources(tf: Terraform) -> list[Resource]:
    return tf.of_type("google_firestore_field")


def queried_fields() -> set[tuple[str, str]]:
    """(collection, top-level field) of every filter and order in the code's queries."""
    fields = {(q.collection, f) for q in QUERIES for f in (*q.equals, q.order) if f}
    return fields | set(OTHER_QUERIES.values())


def test_the_other_queries_are_the_only_ones_outside_the_panel_list() -> None:
    outside: Counter[tuple[str, str]] = Counter()
    panel: set[str] = set()
    for path in (REPO / "functions" / "catalogist").rglob("*.py"):
        if path.parent.name == "adapters":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if "documents" not in ast.unparse(node.func.value):  # the DocumentStore, by its name
                continue
            if node.func.attr in OTHER_QUERIES:
                outside[(path.name, node.func.attr)] += 1
            elif node.func.attr in ("query", "count"):
                panel.add(path.parent.name)

    # Any other find is a query this file does not know of: add it to OTHER_QUERIES.
    assert outside == Counter({("ledger.py", "find"): 1})
    # query/count run only in the panel, whose every query shape is in panel/queries.py.
    assert panel == {"panel"}


def test_no_exemption_removes_an_index_a_query_needs() -> None:
    exempt = {(attr(f.body, "collection"), attr(f.body, "field")) for f in _field_resources(load())}

    assert exempt, "the big maps should be exempt from single-field indexing"
    assert not (exempt & queried_fields())
    for _, field in exempt:
        assert "." not in field and "`" not in field, "exemptions are top-level fields"


def test_exemptions_turn_every_single_field_index_off() -> None:
    for field in _field_resources(load()):
        config = blocks(field.body, "index_config")
        assert config == [{}], f"{field.address} must have an empty index_config"


def test_exemptions_are_applied_one_after_another_after_the_indexes() -> None:
    tf = load()
    fields = _field_resources(tf)
    waited_for = [f.depends_on() for f in fields]

    assert all(len(before) == 1 for before in waited_for)
    assert len({before[0] for before in waited_for}) == len(fields)
    assert sum(before[0].startswith("google_firestore_index.") for before in waited_for) == 1


def test_the_database_is_the_one_the_code_uses_and_cannot_be_deleted() -> None:
    database = load().get("google_firestore_database.this").body
    defaults = Settings.from_env({"GOOGLE_CLOUD_PROJECT": "p", "CATALOGIST_MODELS_BUCKET": "m"})

    assert attr(database, "name") == defaults.firestore_database
    assert attr(database, "type") == "FIRESTORE_NATIVE"
    assert attr(database, "delete_protection_state") == "DELETE_PROTECTION_ENABLED"
    for index in load().of_type("google_firestore_index"):
        assert expr(attr(index.body, "database")) == "google_firestore_database.this.name"


def test_attempt_claims_expire_on_their_expires_at_and_nothing_else_expires() -> None:
    from catalogist.intake import ledger

    ttl_fields = [f for f in _field_resources(load()) if "ttl_config" in f.body]

    assert [(attr(f.body, "collection"), attr(f.body, "field")) for f in ttl_fields] == [
        (ledger.ATTEMPTS, "expires_at")
    ]
    assert blocks(ttl_fields[0].body, "ttl_config") == [{}]


def test_a_daily_backup_is_kept_as_long_as_the_variable_says() -> None:
    from tests.terraform.hcl import example_values, failed_validations, scope
    from tests.terraform.hcl_eval import evaluate

    tf = load()
    schedule = tf.get("google_firestore_backup_schedule.daily").body
    names = scope(tf, **example_values())

    assert blocks(schedule, "daily_recurrence") == [{}]
    assert expr(attr(schedule, "database")) == "google_firestore_database.this.name"
    assert evaluate(attr(schedule, "retention"), names) == f"{14 * 86400}s"
    assert failed_validations(tf, "firestore_backup_days", scope(tf, **example_values(), firestore_backup_days=99))


def test_data_access_is_audited_for_storage_and_firestore() -> None:
    configs = {attr(c.body, "service"): c.body for c in load().of_type("google_project_iam_audit_config")}

    assert set(configs) == {"storage.googleapis.com", "datastore.googleapis.com"}
    for body in configs.values():
        assert {attr(c, "log_type") for c in blocks(body, "audit_log_config")} == {"DATA_READ", "DATA_WRITE"}
        assert all("exempted_members" not in c for c in blocks(body, "audit_log_config"))
