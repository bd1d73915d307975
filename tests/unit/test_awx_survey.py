"""docs/awx-survey.json is a survey AWX/Controller accepts, and every answer
it can give is a value the roles accept.

The structural rules are those of AWX's survey_spec endpoint
(awx/api/views: ``_validate_spec_data``): name, description and a non-empty
spec; per question type, question_name, variable (unique) and required.
"""
import json
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SURVEY = ROOT / "docs" / "awx-survey.json"
QUESTION_TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}
BOOL_STRINGS = {"true", "false", "yes", "no", "1", "0"}


def role_options():
    """Every role variable documented in a meta/argument_specs.yml, by name."""
    options = {}
    for spec_file in sorted(ROOT.glob("roles/*/meta/argument_specs.yml")):
        for entry_point in yaml.safe_load(spec_file.read_text())["argument_specs"].values():
            options.update(entry_point.get("options", {}))
    return options


def choices(question):
    value = question.get("choices", [])
    return value.split("\n") if isinstance(value, str) else list(value)


def test_the_survey_has_awxs_required_fields():
    survey = json.loads(SURVEY.read_text())
    assert isinstance(survey["name"], str) and isinstance(survey["description"], str)
    assert isinstance(survey["spec"], list) and survey["spec"]
    variables = [question["variable"] for question in survey["spec"]]
    assert len(variables) == len(set(variables))
    for question in survey["spec"]:
        assert question["type"] in QUESTION_TYPES, question
        assert question["question_name"] and isinstance(question["required"], bool), question
        if question["type"] in ("multiplechoice", "multiselect"):
            assert choices(question), question
            assert question.get("default", "") in choices(question) + [""], question


def test_every_answer_is_a_value_the_roles_accept():
    options = role_options()
    for question in json.loads(SURVEY.read_text())["spec"]:
        option = options.get(question["variable"])
        assert option is not None, "%s is not a documented role variable" % question["variable"]
        answers = choices(question)
        if option.get("type") == "bool":
            # AWX answers are strings; the roles read them with | bool.
            assert set(answers) <= BOOL_STRINGS, question
        if "choices" in option:
            assert set(answers) <= set(option["choices"]), question


def test_the_host_list_is_not_a_survey_answer():
    """A survey answer applies to every cluster of the job and a typed-in host
    list would prune every host it leaves out: the list stays in the inventory."""
    variables = {question["variable"] for question in json.loads(SURVEY.read_text())["spec"]}
    assert "external_services_hosts" not in variables
    assert not {v for v in variables if v.startswith("istio_egress_kube") or v == "istio_egress_context"}
