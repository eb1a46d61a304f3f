"""The custom roles grant exactly what the app's actions declare: no less, no more.

Two lists, both loaded by modules/responder-role.bicep: infra/role-actions.json (the base role,
always assigned) and infra/role-actions-scale-set-write.json (the opt-in scale-set write role,
with the linked actions a scale-set write is checked against). Together they equal
actions.required_permissions(); the second equals actions.scale_set_write_permissions(); they
do not overlap, so scale-set write never creeps back into the base role.
"""

import json
import re

import pytest
from infra_paths import INFRA
from tree_walk import body

ROLE_ACTIONS = INFRA / "role-actions.json"
WRITE_ROLE_ACTIONS = INFRA / "role-actions-scale-set-write.json"
ROLE_MODULE = "infra/modules/responder-role.bicep"
OPERATION = re.compile(r"^Microsoft\.[A-Za-z]+(/[A-Za-z]+)+/(read|write|delete|action)$")


def role_actions(path=ROLE_ACTIONS):
    return json.loads(path.read_text(encoding="utf-8"))["actions"]


def registry():
    try:
        import actions
    except ImportError as exc:  # the roles cannot be checked without the registry
        pytest.fail(f"cannot import the action registry (actions.required_permissions): {exc}", pytrace=False)
    return actions


def out_of_step(path, declared):
    granted = role_actions(path)
    missing = sorted(set(declared) - set(granted))
    extra = sorted(set(granted) - set(declared))
    return f"{path.name} is out of step with the actions: add {missing}, remove {extra}" if missing or extra else None


def test_base_role_is_everything_declared_but_scale_set_write():
    actions = registry()
    declared = sorted(set(actions.required_permissions()) - set(actions.scale_set_write_permissions()))
    assert out_of_step(ROLE_ACTIONS, declared) is None, out_of_step(ROLE_ACTIONS, declared)
    assert role_actions() == declared


def test_scale_set_write_role_is_what_the_writing_actions_declare():
    actions = registry()
    declared = actions.scale_set_write_permissions()
    assert out_of_step(WRITE_ROLE_ACTIONS, declared) is None, out_of_step(WRITE_ROLE_ACTIONS, declared)
    assert "Microsoft.Compute/virtualMachineScaleSets/write" in declared


def test_both_roles_together_are_the_registry_exactly():
    actions = registry()
    base, write = set(role_actions()), set(role_actions(WRITE_ROLE_ACTIONS))
    assert base & write == set()
    assert sorted(base | write) == actions.required_permissions()


def test_only_the_two_scale_set_patching_actions_need_the_write_role():
    assert registry().actions_needing_scale_set_write() == ["enable-automatic-repairs", "replace-failed-instance"]


@pytest.mark.parametrize("path", [ROLE_ACTIONS, WRITE_ROLE_ACTIONS], ids=lambda p: p.name)
def test_role_actions_are_sorted_and_unique(path):
    granted = role_actions(path)
    assert granted == sorted(set(granted))


@pytest.mark.parametrize("operation", role_actions() + role_actions(WRITE_ROLE_ACTIONS))
def test_role_action_is_a_plain_operation(operation):
    # No wildcards: a pattern would grant operations nobody reviewed.
    assert "*" not in operation
    assert OPERATION.match(operation), operation


def test_role_module_loads_the_list(bicep):
    tree = bicep(ROLE_MODULE)
    text = (INFRA / "modules/responder-role.bicep").read_text()
    assert "loadJsonContent('../role-actions.json')" in text
    assert "loadJsonContent('../role-actions-scale-set-write.json')" in text
    assert tree["globals"]["scope"]["value"] == "subscription"
    for resource, source, conditional in (("responderRole", "roleActions", False),
                                          ("scaleSetWriteRole", "scaleSetWriteActions", True)):
        role = tree["resources"][resource]
        assert role["type"] == "Microsoft.Authorization/roleDefinitions"
        assert ("condition" in role["config"]) is conditional, resource
        permissions = body(role)["properties"]["permissions"]
        assert len(permissions) == 1
        # The actions come from the file (a property access on the loaded JSON), not a copy.
        assert source in json.dumps(permissions[0]["actions"])
        assert permissions[0]["notActions"] == []
        assert permissions[0]["dataActions"] == []


def test_scale_set_write_role_is_off_by_default_and_told_to_the_app(bicep):
    main = bicep("infra/main.bicep")
    assert main["parameters"]["enableScaleSetWrite"]["default"] is False
    assert "RESPONDER_SCALE_SET_WRITE: enableScaleSetWrite ? 'true' : 'false'" in (INFRA / "main.bicep").read_text()
    monitored = bicep("infra/modules/monitored-subscription.bicep")
    assignment = monitored["resources"]["scaleSetWriteAccess"]
    assert assignment["config"]["condition"]  # assigned only when the role exists
    assert body(assignment)["properties"]["principalType"] == "ServicePrincipal"
