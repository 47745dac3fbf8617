import pytest

from mzops import yamlfile
from mzops.errors import InputError


def write(tmp_path, text):
    path = tmp_path / "f.yml"
    path.write_text(text)
    return path


def test_lines_are_recorded_for_keys_and_items(tmp_path):
    doc = yamlfile.load(write(tmp_path, "a:\n  b: 1\nlist:\n  - x\n  - {y: 2}\n"))
    assert doc.line_of(("a", "b")) == 2
    assert doc.line_of(("list", 1, "y")) == 5
    assert doc.where(("list", 1, "missing")) == f"{doc.path}:5"


def test_duplicate_key_is_refused_with_both_lines(tmp_path):
    with pytest.raises(InputError) as err:
        yamlfile.load(write(tmp_path, "hosts:\n  web01: {}\n  db01: {}\n  web01: {}\n"))
    assert str(err.value) == f"{tmp_path / 'f.yml'}:4: hosts.web01: duplicate key (first defined on line 2)"


def test_malformed_yaml_names_file_and_line(tmp_path):
    with pytest.raises(InputError) as err:
        yamlfile.load(write(tmp_path, "a: 1\nb: [1, 2\nc: 3\n"))
    message = str(err.value)
    assert message.startswith(f"{tmp_path / 'f.yml'}:")
    assert "malformed YAML" in message and "\n" not in message


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        yamlfile.load(tmp_path / "nope.yml")


def test_non_string_keys_keep_their_lines(tmp_path):
    doc = yamlfile.load(write(tmp_path, "2027: a\ntrue: b\n"))
    assert doc.line_of((2027,)) == 1
    assert doc.line_of((True,)) == 2


def test_a_control_character_is_named_with_its_line_after_non_ascii_text(tmp_path):
    """YAML 1.1 §5.1: C0 controls other than tab, LF and CR are not printable characters.
    libyaml reports their position in UTF-8 bytes: the line counted after 'é' (two bytes)."""
    with pytest.raises(InputError) as err:
        yamlfile.load(write(tmp_path, "a: é\nb: ok\nc: x\x07y\n"))
    assert str(err.value) == f"{tmp_path / 'f.yml'}:3: malformed YAML: character '\\x07' is not allowed in YAML"


def test_libyaml_parses_where_pyyaml_has_it():
    import yaml

    assert issubclass(yamlfile._Loader, yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader)


def test_an_impossible_date_stays_text_for_the_schema_to_name(tmp_path):
    doc = yamlfile.load(write(tmp_path, "expires: 2027-02-30\nvalid: 2027-02-28\n"))
    assert doc.data["expires"] == "2027-02-30" and str(doc.data["valid"]) == "2027-02-28"
    assert doc.line_of(("expires",)) == 1
