"""The networks themselves: the length-aware BiLSTM tagger and the notebook's window BiLSTM."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from phonebound.models import build_model, get_spec
from phonebound.models.bilstm import BiLSTMConfig, BiLSTMTagger, reverse_padded
from phonebound.models.window import WindowBiLSTM, WindowConfig

torch.set_num_threads(1)


# --- BiLSTMTagger -------------------------------------------------------------------------------

def test_reverse_padded_is_an_involution_that_keeps_padding_in_place():
    lengths = torch.tensor([5, 3, 1, 0])
    x = torch.arange(4 * 5 * 2, dtype=torch.float32).reshape(4, 5, 2)
    r = reverse_padded(x, lengths)
    assert torch.equal(reverse_padded(r, lengths), x)
    for b, n in enumerate(lengths.tolist()):
        assert torch.equal(r[b, :n], x[b, :n].flip(0))  # valid part reversed within its length
        assert torch.equal(r[b, n:], x[b, n:])  # padding untouched, in place


@pytest.mark.parametrize("conv_channels", [0, 6])
def test_padded_batch_equals_each_utterance_alone(conv_channels):
    torch.manual_seed(0)
    model = BiLSTMTagger(BiLSTMConfig(hidden=8, layers=2, dropout=0.3, conv_channels=conv_channels), 5).eval()
    lengths = [11, 4, 7, 1]
    utts = [torch.randn(n, 5) for n in lengths]
    x = torch.zeros(len(utts), max(lengths), 5)  # zero padding, as collate and tagger_scores pad
    for b, u in enumerate(utts):
        x[b, : len(u)] = u
    with torch.no_grad():
        batched = model(x, torch.tensor(lengths))
        assert batched.shape == (4, 11)
        for b, u in enumerate(utts):
            alone = model(u[None], torch.tensor([len(u)]))[0]
            assert torch.allclose(batched[b, : len(u)], alone, atol=1e-5), b
            assert torch.allclose(model(u[None])[0], alone, atol=1e-6)  # lengths=None: the full length


def test_padding_values_never_reach_valid_frames_without_conv():
    """Without the conv front-end, whatever the padding holds cannot change the valid frames."""
    torch.manual_seed(1)
    model = BiLSTMTagger(BiLSTMConfig(hidden=6, layers=2, dropout=0.0), 3).eval()
    x = torch.randn(2, 9, 3)
    lengths = torch.tensor([9, 5])
    garbage = x.clone()
    garbage[1, 5:] = 100.0
    with torch.no_grad():
        assert torch.allclose(model(x, lengths)[1, :5], model(garbage, lengths)[1, :5], atol=1e-6)


def test_backward_direction_reads_each_utterance_backwards():
    """Changing the last valid frame changes the backward half of every earlier frame's encoding
    (and not the forward half); with a naive unpacked reversal it would hit padding instead."""
    torch.manual_seed(2)
    model = BiLSTMTagger(BiLSTMConfig(hidden=4, layers=1, dropout=0.0), 3).eval()
    x = torch.randn(1, 8, 3)
    lengths = torch.tensor([6])
    y = x.clone()
    y[0, 5] += 1.0  # last valid frame
    with torch.no_grad():
        a, b = model.encode(x, lengths), model.encode(y, lengths)
    assert torch.allclose(a[0, :5, :4], b[0, :5, :4])  # forward half: only the past matters
    assert (a[0, :5, 4:] - b[0, :5, 4:]).abs().amax(-1).min() > 0  # backward half sees the future


def test_registry_kinds():
    assert get_spec("bilstm").kind == "tagger"
    assert get_spec("window").kind == "window"
    assert get_spec("spectral").kind == "untrained"
    assert isinstance(build_model("bilstm", {"hidden": 4, "layers": 1}, 7), BiLSTMTagger)
    with pytest.raises(Exception, match="hiden"):
        build_model("bilstm", {"hiden": 4}, 7)


# --- WindowBiLSTM -------------------------------------------------------------------------------

def test_window_output_shape_and_last_time_step_of_both_directions():
    torch.manual_seed(0)
    model = WindowBiLSTM(WindowConfig(hidden=70), 13).eval()
    x = torch.randn(6, 10, 13)
    with torch.no_grad():
        logits = model(x)
        assert logits.shape == (6, 2)
        outputs = model.lstm(x)[0]  # (B, T, 2H): [forward | backward]
        assert torch.allclose(logits, model.output(outputs[:, -1]), atol=1e-6)
        # the backward half at the last step has read only the last frame; the forward half all
        y = x.clone()
        y[:, :-1] += 1.0
        out_y = model.lstm(y)[0][:, -1]
    assert torch.allclose(out_y[:, 70:], outputs[:, -1, 70:], atol=1e-6)
    assert not torch.allclose(out_y[:, :70], outputs[:, -1, :70], atol=1e-3)


def test_window_init_forget_bias_and_xavier_gates():
    torch.manual_seed(0)
    hidden, dim = 70, 13
    model = WindowBiLSTM(WindowConfig(hidden=hidden, forget_bias=1.0), dim)
    params = dict(model.lstm.named_parameters())
    for suffix in ("l0", "l0_reverse"):
        b_ih, b_hh = params[f"bias_ih_{suffix}"], params[f"bias_hh_{suffix}"]
        assert torch.all(b_ih[hidden : 2 * hidden] == 1.0)  # PyTorch gate order i, f, g, o
        assert torch.all(b_ih[:hidden] == 0) and torch.all(b_ih[2 * hidden :] == 0)
        assert torch.all(b_hh == 0)  # the forget bias is added once, not twice
        for name, fan_in in ((f"weight_ih_{suffix}", dim), (f"weight_hh_{suffix}", hidden)):
            w = params[name].detach()
            assert w.shape == (4 * hidden, fan_in)
            bound = math.sqrt(6.0 / (fan_in + hidden))  # Xavier uniform of one (hidden, fan_in) gate
            for gate in w.chunk(4, dim=0):
                assert gate.abs().max() <= bound + 1e-7
                assert gate.abs().max() > 0.9 * bound  # really spread over the whole range
                assert gate.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.12)
    assert torch.all(model.output.bias == 0)
    out_bound = math.sqrt(6.0 / (2 * hidden + 2))
    assert model.output.weight.abs().max() <= out_bound + 1e-7


def test_window_forget_bias_follows_config():
    model = WindowBiLSTM(WindowConfig(hidden=5, forget_bias=0.25), 3)
    assert torch.all(model.lstm.bias_ih_l0[5:10] == 0.25)
    assert isinstance(model.lstm, nn.LSTM) and model.lstm.bidirectional
