"""Errors are spikeforge.Error subclasses carrying the CLI's message and a location; where
the CLI binary is built, the message is compared with what it prints."""

import subprocess

import numpy as np
import pytest

import spikeforge as sf
from conftest import REPO, cli_binary


def cli_error(*args):
    exe = cli_binary()
    if exe is None:
        return None
    r = subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True)
    assert r.returncode == 2, r.stderr
    return r.stderr


def test_hierarchy():
    assert issubclass(sf.BadInputError, sf.Error) and issubclass(sf.DiffersError, sf.Error)
    assert issubclass(sf.Error, Exception)


def test_missing_model_names_the_file(tmp_path):
    path = tmp_path / "missing.nir"
    with pytest.raises(sf.BadInputError) as e:
        sf.load(path)
    assert e.value.location == str(path)
    assert str(path) in e.value.message and e.value.kind == "bad_input"
    cli = cli_error("check", path)
    if cli is not None:
        assert cli == f"error: {e.value.message}\n"


def test_unknown_extension(tmp_path):
    with pytest.raises(sf.BadInputError) as e:
        sf.load(tmp_path / "model.txt")
    assert e.value.message == f"{tmp_path / 'model.txt'}: unknown model format (expected a .nir or .snn file)"


def test_syntax_error_in_text_model_is_rendered_as_the_cli_does(tmp_path):
    path = tmp_path / "bad.snn"
    path.write_text("input x [4]\nlif y <- x ( tau = \n")
    with pytest.raises(sf.BadInputError) as e:
        sf.load(path)
    assert str(path) in e.value.message
    cli = cli_error("check", path)
    if cli is not None:
        assert cli == e.value.message


def test_wrong_input_shape_names_the_argument(golden):
    m = sf.load(golden / "digits_mlp" / "model.nir")
    with pytest.raises(sf.BadInputError) as e:
        m.run(np.zeros((2, 5, 7)))
    assert e.value.location == "x" and e.value.message.startswith("x: ")


def test_non_finite_input_is_refused(golden):
    m = sf.load(golden / "digits_mlp" / "model.nir")
    x = np.zeros((1, 3, 64))
    x[0, 2, 5] = np.nan
    with pytest.raises(sf.BadInputError) as e:
        m.run(x)
    assert e.value.location == "x"
    assert e.value.message == "x: the value at [sample 0, step 2, index 5] is NaN; inputs must be finite numbers"


def test_unknown_target_lists_presets(golden):
    with pytest.raises(sf.BadInputError) as e:
        sf.target("no_such_chip")
    assert e.value.message.startswith("`no_such_chip` is neither a target file nor a preset (presets: ")
    cli = cli_error("target", "show", "no_such_chip")
    if cli is not None:
        assert cli == f"error: {e.value.message}\n"


def test_bad_set_and_chips(golden):
    with pytest.raises(sf.BadInputError):
        sf.target("loihi", chips="0x3")
    with pytest.raises(sf.BadInputError) as e:
        sf.target("loihi", set={"core.no_such_field": 1})
    assert "--set" in e.value.message


def test_simulate_refuses_wrong_shape_and_bad_numeric(golden):
    cm = sf.compile(sf.load(golden / "digits_mlp" / "model.nir"), sf.target("loihi"))
    with pytest.raises(sf.BadInputError) as e:
        sf.simulate(cm, np.zeros((1, 4, 3)))
    assert e.value.message.startswith("x: input has shape [1, 4, 3]; expected [N, T, 64]")
    with pytest.raises(sf.BadInputError):
        sf.simulate(cm, np.zeros((1, 4, 64)), numeric="float")
    with pytest.raises(sf.BadInputError):
        sf.simulate(cm, np.zeros((1, 4, 64)), threads=0)


def test_corrupt_core_map(tmp_path, golden):
    cm = sf.compile(sf.load(golden / "digits_mlp" / "model.nir"), sf.target("loihi"))
    path = tmp_path / "m.map"
    cm.save(path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(sf.BadInputError) as e:
        sf.load_map(path)
    assert e.value.location == str(path)
    cli = cli_error("simulate", path, "--input", golden / "digits_mlp" / "input.npy", "-o", tmp_path / "y.npy")
    if cli is not None:
        assert cli == f"error: {e.value.message}\n"


def test_model_that_does_not_fit(golden):
    t = sf.target(str(REPO / "targets" / "test_2x2.ron"), set={"core.max_neurons": 8})
    with pytest.raises(sf.BadInputError) as e:
        sf.compile(sf.load(golden / "digits_cnn" / "model.nir"), t)
    assert "does not map onto" in e.value.message
