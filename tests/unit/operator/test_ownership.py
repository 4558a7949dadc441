"""Which Secrets the operator may touch: its own key Secrets, and credentials that opted in."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tokenhub_operator import ownership

MANAGED = {ownership.MANAGED_BY_LABEL: ownership.MANAGED_BY}
OWNER = {"kind": "ApiKey", "uid": "uid-1", "name": "app"}
names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20)


def test_a_key_secret_is_owned_only_with_the_label_and_a_reference_to_this_apikey() -> None:
    assert ownership.owns_key_secret(MANAGED, [OWNER], "uid-1")
    assert not ownership.owns_key_secret({}, [OWNER], "uid-1"), "no managed-by label"
    assert not ownership.owns_key_secret({ownership.MANAGED_BY_LABEL: "helm"}, [OWNER], "uid-1")
    assert not ownership.owns_key_secret(MANAGED, [], "uid-1"), "labelled by hand, owned by nobody"
    assert not ownership.owns_key_secret(MANAGED, [OWNER], "uid-2"), "an ApiKey recreated under the same name"
    assert not ownership.owns_key_secret(MANAGED, [{**OWNER, "kind": "Deployment"}], "uid-1")
    assert not ownership.owns_key_secret(MANAGED, [{**OWNER, "uid": ""}], ""), "an empty uid matches nothing"


@given(labels=st.dictionaries(st.text(max_size=10), st.text(max_size=10)), uid=st.text(max_size=10))
def test_without_the_managed_by_label_nothing_is_owned(labels: dict[str, str], uid: str) -> None:
    labels.pop(ownership.MANAGED_BY_LABEL, None)
    assert not ownership.owns_key_secret(labels, [{**OWNER, "uid": uid}], uid)


def test_a_credential_is_usable_only_once_the_secret_opts_in() -> None:
    assert not ownership.provider_may_use({}, {}, "mock")
    assert not ownership.provider_may_use({ownership.PROVIDER_CREDENTIAL_LABEL: "false"}, {}, "mock")
    assert ownership.provider_may_use({ownership.PROVIDER_CREDENTIAL_LABEL: "true"}, {}, "mock")
    assert ownership.provider_may_use({}, {ownership.ALLOWED_PROVIDERS_ANNOTATION: "a, mock"}, "mock")
    assert not ownership.provider_may_use({}, {ownership.ALLOWED_PROVIDERS_ANNOTATION: "a,b"}, "mock")


@given(allowed=st.lists(names, max_size=5), provider=names)
def test_the_annotation_is_the_whole_list_even_on_a_labelled_secret(allowed: list[str], provider: str) -> None:
    labels = {ownership.PROVIDER_CREDENTIAL_LABEL: "true"}
    annotations = {ownership.ALLOWED_PROVIDERS_ANNOTATION: ",".join(allowed)}
    assert ownership.provider_may_use(labels, annotations, provider) == (provider in allowed)


def test_the_refusals_name_the_secret_and_how_to_opt_in() -> None:
    assert ownership.refusal("db", "mock", {}) == (
        "Secret 'db' has not opted in as a provider credential: label it tokenhub.io/provider-credential=true"
        " or annotate it tokenhub.io/allowed-providers=mock"
    )
    annotations = {ownership.ALLOWED_PROVIDERS_ANNOTATION: "b,a"}
    assert ownership.refusal("db", "mock", annotations) == (
        "Secret 'db' allows only a, b (annotation tokenhub.io/allowed-providers), not Provider 'mock'"
    )
    assert "Secret 'db-credentials'" in ownership.key_secret_conflict("db-credentials", "app")
