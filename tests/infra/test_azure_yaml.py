"""azure.yaml: the azd project, one Python function service deployed from the repository root."""

import re

import pytest
import yaml
from infra_paths import INFRA, ROOT


@pytest.fixture(scope="module")
def project():
    return yaml.safe_load((ROOT / "azure.yaml").read_text(encoding="utf-8"))


def test_project_name(project):
    assert project["name"] == "resource-health-responder"


def test_one_python_function_service_from_the_root(project):
    assert list(project["services"]) == ["responder"]
    service = project["services"]["responder"]
    assert service == {"project": ".", "language": "python", "host": "function"}


def test_service_name_matches_the_tag_azd_deploys_to():
    # azd finds the app to deploy by the tag azd-service-name; main.bicep sets it from serviceName.
    main = (INFRA / "main.bicep").read_text(encoding="utf-8")
    assert re.search(r"^var serviceName = 'responder'$", main, re.MULTILINE)
    assert "'azd-service-name': serviceName" in (INFRA / "app/function.bicep").read_text(encoding="utf-8")
    assert "output SERVICE_RESPONDER_NAME string" in main


def test_azd_version_is_pinned_to_the_first_that_loads_object_parameters(project):
    # azd 1.23.4 fixed environment substitution for object and array parameters (teamsWebhooks).
    assert project["requiredVersions"] == {"azd": ">= 1.23.4"}


@pytest.mark.parametrize(("hook", "must_mention"), [
    ("preprovision", "RESPONDER_APPROVAL_SECRET"),
    ("preprovision", "azd env set RESPONDER_TEAMS_WEBHOOKS '{}'"),
    ("postprovision", "-m responder doctor --references --wait 600"),
    ("postdeploy", "RESPONDER_CONNECT_SIGNALS"),
])
def test_hooks_for_both_shells(project, hook, must_mention):
    for shell in ("posix", "windows"):
        assert must_mention in project["hooks"][hook][shell]["run"]


def test_entry_points_azd_expects_exist():
    for path in ("infra/main.bicep", "infra/main.parameters.json", "host.json", "requirements.txt"):
        assert (ROOT / path).is_file(), path
