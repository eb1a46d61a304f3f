"""The custom role grants exactly what the app's actions declare: no less, no more.

infra/role-actions.json is the one list: modules/responder-role.bicep loads it, and this test
holds it against actions.required_permissions(), the union of every registered action's
declared RBAC operations (the writes it starts and the reads it verifies and polls with).
"""

import json
import re

import pytest

from infra_paths import INFRA

ROLE_ACTIONS = INFRA / "role-actions.json"
ROLE_MODULE = "infra/modules/responder-role.bicep"
OPERATION = re.compile(r"^Microsoft\.[A-Za-z]+(/[A-Za-z]+)+/(read|write|delete|action)$")


def role_actions():
    return json.loads(ROLE_ACTIONS.read_text(encoding="utf-8"))["actions"]


def declared_permissions():
    try:
        import actions
    except ImportError as exc:  # the role cannot be checked without the registry
        pytest.fail(f"cannot import the action registry (actions.required_permissions): {exc}", pytrace=False)
    return actions.required_permissions()


def test_role_matches_the_action_registry_exactly():
    declared = declared_permissions()
    granted = role_actions()
    missing = sorted(set(declared) - set(granted))
    extra = sorted(set(granted) - set(declared))
    assert (missing, extra) == ([], []), (
        f"infra/role-actions.json is out of step with the actions: add {missing}, remove {extra}"
    )
    assert granted == declared


def test_role_actions_are_sorted_and_unique():
    granted = role_actions()
    assert granted == sorted(set(granted))


@pytest.mark.parametrize("operation", role_actions())
def test_role_action_is_a_plain_operation(operation):
    # No wildcards: a pattern would grant operations nobody reviewed.
    assert "*" not in operation
    assert OPERATION.match(operation), operation


def test_role_module_loads_the_list(bicep):
    tree = bicep(ROLE_MODULE)
    assert "loadJsonContent('../role-actions.json')" in (INFRA / "modules/responder-role.bicep").read_text()
    role = tree["resources"]["responderRole"]
    assert role["type"] == "Microsoft.Authorization/roleDefinitions"
    assert tree["globals"]["scope"]["value"] == "subscription"
    permissions = role["config"]["properties"]["permissions"]
    assert len(permissions) == 1
    # The actions come from the file (a property access on the loaded JSON), not a copy.
    assert "roleActions" in json.dumps(permissions[0]["actions"])
    assert permissions[0]["notActions"] == []
    assert permissions[0]["dataActions"] == []
