import tomllib
from pathlib import Path

from pydantic import BaseModel

from provisioner import settings

EXAMPLE = Path(__file__).parents[1] / "config" / "provisioner.example.toml"


def section(field):
    """The BaseModel a field holds, also when it is optional (``X | None``)."""
    for ann in (field.annotation, *getattr(field.annotation, "__args__", ())):
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            return ann
    return None


def keys(model: type[BaseModel], prefix=""):
    for name, field in model.model_fields.items():
        ann = section(field)
        if ann is not None:
            yield from keys(ann, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}"


def flat(data, prefix=""):
    for k, v in data.items():
        if isinstance(v, dict) and k != "queries":
            yield from flat(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}"


def test_example_config_documents_every_key_and_loads():
    assert set(flat(tomllib.loads(EXAMPLE.read_text()))) == set(keys(settings.Settings))
    assert settings.load(EXAMPLE).ldap.base_dn == "dc=example,dc=org"


def test_every_setting_has_a_description():
    for top in settings.Settings.model_fields.values():
        for name, field in section(top).model_fields.items():
            assert field.description, name


def test_environment_wins_over_the_file(monkeypatch):
    monkeypatch.setenv("PROVISIONER_LDAP__PEOPLE_OU", "uczniowie")
    assert settings.load(EXAMPLE).ldap.people_ou == "uczniowie"


def test_default_queries_select_the_reference_columns():
    from provisioner.core.assemble import COLUMNS

    assert set(settings.DEFAULT_QUERIES) == set(COLUMNS)
    for table, query in settings.DEFAULT_QUERIES.items():
        selected = [c.strip() for c in query.split("SELECT", 1)[1].split("FROM")[0].split(",")]
        assert set(COLUMNS[table]) <= set(selected), table
