"""Reconciliation is pure: same documents -> no changes; prune removes only what the same owner applied."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.config import documents, reconcile

Ref = documents.ObjectRef


def desired(name: str, value: int) -> reconcile.DesiredObject:
    spec = {"upstreamModel": name, "weight": value}
    return reconcile.DesiredObject(Ref("Model", "default", name), spec, reconcile.spec_hash(spec))


def stored(obj: reconcile.DesiredObject, owner: str = "manifest") -> reconcile.StoredObject:
    return reconcile.StoredObject(obj.ref, obj.spec_hash, owner)


def test_spec_hash_ignores_key_order() -> None:
    assert reconcile.spec_hash({"a": 1, "b": [1, 2]}) == reconcile.spec_hash({"b": [1, 2], "a": 1})


def test_applying_what_is_stored_changes_nothing() -> None:
    objs = [desired("a", 1), desired("b", 2)]
    changes = reconcile.plan(objs, {o.ref: stored(o) for o in objs}, owner="manifest", prune=True)
    assert changes.empty
    assert changes.unchanged == 2


def test_a_changed_spec_is_upserted_and_a_new_one_created() -> None:
    current = {desired("a", 1).ref: stored(desired("a", 1))}
    changes = reconcile.plan([desired("a", 5), desired("b", 1)], current, owner="manifest", prune=False)
    assert [u.ref.name for u in changes.upserts] == ["a", "b"]


def test_prune_removes_only_objects_of_the_same_owner() -> None:
    mine, theirs = desired("gone", 1), desired("cli-made", 1)
    current = {mine.ref: stored(mine), theirs.ref: stored(theirs, owner="cli")}
    changes = reconcile.plan([], current, owner="manifest", prune=True)
    assert changes.deletes == (mine.ref,)
    assert reconcile.plan([], current, owner="manifest", prune=False).empty


def test_credentials_are_resealed_only_when_they_change() -> None:
    ref = Ref("Provider", "default", "openai")
    other = Ref("Provider", "default", "old")
    assert reconcile.plan_credentials({ref: b"k1"}, {ref: b"k1"}) == ()
    assert reconcile.plan_credentials({ref: b"k2"}, {ref: b"k1"}) == (reconcile.CredentialChange(ref, b"k2"),)
    assert reconcile.plan_credentials({}, {other: b"x"}) == (reconcile.CredentialChange(other, None),)
    assert reconcile.plan_credentials({}, {other: b"x"}, keep=[other]) == ()


names = st.lists(st.sampled_from("abcdefgh"), unique=True)


@given(names, names, st.integers(0, 3), st.booleans())
def test_plan_then_apply_reaches_the_desired_state(want: list[str], have: list[str], value: int, prune: bool) -> None:
    wanted = [desired(n, value) for n in want]
    current = {desired(n, 0).ref: stored(desired(n, 0)) for n in have}
    changes = reconcile.plan(wanted, current, owner="manifest", prune=prune)
    after = dict(current)
    for ref in changes.deletes:
        del after[ref]
    for obj in changes.upserts:
        after[obj.ref] = stored(obj)
    assert {o.ref: o.spec_hash for o in wanted}.items() <= {r: s.spec_hash for r, s in after.items()}.items()
    if prune:
        assert set(after) == {o.ref for o in wanted}
    again = reconcile.plan(wanted, after, owner="manifest", prune=prune)
    assert again.empty
