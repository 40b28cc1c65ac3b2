import pytest

from bench.core.spec import CellSpec, Protocol, SpecError
from bench.run.plan import parse_scales, plan_cells


def test_paper_rates_by_default():
    assert [(p.low_sr, p.target_sr) for p in map(Protocol.for_scale, (2, 4, 6))] == [
        (8000, 16000), (4000, 16000), (4000, 24000)]


def test_target_sr_overrides_paper_rate():
    assert Protocol.for_scale(4, target_sr=48000).low_sr == 12000


@pytest.mark.parametrize("scale", [1, 0, -2])
def test_scale_below_two_is_impossible(scale):
    with pytest.raises(SpecError, match="integer >= 2"):
        Protocol(scale=scale, target_sr=16000)


def test_scale_must_divide_target_rate():
    with pytest.raises(SpecError, match="does not divide"):
        Protocol(scale=7, target_sr=16000)


def test_non_integer_scale_string_is_rejected():
    with pytest.raises(SpecError, match="not an integer"):
        parse_scales("2,x")


def test_key_is_stable_and_ignores_argument_order():
    a = plan_cells("spline,linear", "synth-speech", "2,4")
    b = plan_cells("linear,spline", "synth-speech", "4,2")
    assert {s.key for s in a} == {s.key for s in b}
    assert len({s.key for s in a}) == 4


def test_key_changes_with_every_field():
    base = CellSpec("spline", "synth-speech", Protocol(2, 16000))
    variants = [
        CellSpec("linear", "synth-speech", Protocol(2, 16000)),
        CellSpec("spline", "synth-piano", Protocol(2, 16000)),
        CellSpec("spline", "synth-speech", Protocol(4, 16000)),
        CellSpec("spline", "synth-speech", Protocol(2, 16000, lowpass="sinc")),
        CellSpec("spline", "synth-speech", Protocol(2, 16000), profile="smoke"),
        CellSpec("spline", "synth-speech", Protocol(2, 16000), seed=1),
        CellSpec("spline", "synth-speech", Protocol(2, 16000), method_config={"a": 1}),
        CellSpec("spline", "synth-speech", Protocol(2, 16000), code_hash="x"),
    ]
    keys = {v.key for v in variants}
    assert base.key not in keys and len(keys) == len(variants)


def test_spec_round_trips_through_dict():
    spec = plan_cells("noisefill", "synth-speech", "6")[0]
    again = CellSpec.from_dict(spec.to_dict())
    assert again == spec and again.key == spec.key


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(SpecError, match="registered methods: .*spline"):
        plan_cells("nope", "synth-speech", "2")
    with pytest.raises(SpecError, match="known datasets: .*synth-speech"):
        plan_cells("spline", "vctk-nope", "2")


def test_unknown_profile_and_lowpass():
    with pytest.raises(SpecError, match="unknown profile"):
        CellSpec("spline", "synth-speech", Protocol(2, 16000), profile="huge")
    with pytest.raises(SpecError, match="unknown low-pass"):
        Protocol(2, 16000, lowpass="brickwall")


def test_target_rate_above_native_rate_is_refused():
    with pytest.raises(SpecError, match="below the target rate"):
        plan_cells("spline", "synth-speech", "2", target_sr=96000)


def test_rng_seed_differs_per_cell():
    seeds = {s.rng_seed for s in plan_cells("all", "synth-speech", "2,4,6")}
    assert len(seeds) == len(plan_cells("all", "synth-speech", "2,4,6"))


def test_training_key_ignores_the_test_filter_but_not_the_training_one():
    cheby = plan_cells("audiounet", "synth-speech", "2", lowpass="cheby1", train_lowpass="cheby1")[0]
    sinc_on_cheby = plan_cells("audiounet", "synth-speech", "2", lowpass="sinc", train_lowpass="cheby1")[0]
    sinc = plan_cells("audiounet", "synth-speech", "2", lowpass="sinc")[0]
    assert cheby.key != sinc_on_cheby.key
    assert cheby.training_key == sinc_on_cheby.training_key  # one training serves both test filters
    assert sinc.training_key != cheby.training_key
    assert cheby.protocol.train_lowpass is None  # training on the test filter is the plain protocol


def test_lowpass_list_makes_one_cell_per_filter():
    specs = plan_cells("spline", "synth-speech", "2,4", lowpass="cheby1,sinc,ellip")
    assert sorted((s.protocol.scale, s.protocol.lowpass) for s in specs) == [
        (2, "cheby1"), (2, "ellip"), (2, "sinc"), (4, "cheby1"), (4, "ellip"), (4, "sinc")]


def test_data_and_scoring_code_are_part_of_the_key():
    spec = plan_cells("spline", "synth-speech", "2")[0]
    assert spec.data_hash and spec.scoring_hash
    from dataclasses import replace
    assert replace(spec, scoring_hash="x").key != spec.key
    assert replace(spec, scoring_hash="x").training_key == spec.training_key
    assert replace(spec, data_hash="x").training_key != spec.training_key


def test_eval_repeats_change_the_cell_key_but_not_the_training_key():
    from dataclasses import replace

    from bench.core.spec import content_key

    once = plan_cells("nuwave", "synth-speech", "2")[0]
    five = replace(once, eval_repeats=5)
    assert five.key != once.key and five.training_key == once.training_key
    legacy = once.to_dict()
    for later_field in ("eval_repeats", "command", "external"):
        legacy.pop(later_field)
    assert once.key == content_key(legacy)  # cells keyed before the fields existed stay valid


def test_the_budget_is_keyed_for_learned_cells_and_the_command_never():
    from dataclasses import replace

    from bench.core.profiles import PROFILES

    net, spline = plan_cells("audiounet,spline", "synth-speech", "2", "smoke", command="python -m bench run")
    assert net.train_budget == PROFILES["smoke"].train_flops and spline.train_budget is None
    assert net.command == "python -m bench run"
    assert replace(net, command="other").key == net.key
    doubled = plan_cells("audiounet", "synth-speech", "2", "smoke", budget=(2.0, True))[0]
    assert doubled.train_budget == 2 * PROFILES["smoke"].train_flops
    assert doubled.key != net.key and doubled.training_key != net.training_key
    assert plan_cells("audiounet", "synth-speech", "2", "smoke", budget=(5e9, False))[0].train_budget == 5e9
    with pytest.raises(SpecError, match="no training budget to multiply"):
        plan_cells("audiounet", "synth-speech", "2", "paper", budget=(2.0, True))


def test_seeds_make_one_cell_each():
    specs = plan_cells("spline", "synth-speech", "2", seeds=(0, 1, 2))
    assert [s.seed for s in specs] == [0, 1, 2] and len({s.key for s in specs}) == 3


def test_eval_repeats_default_per_profile_and_apply_to_stochastic_methods_only():
    assert {s.method: s.eval_repeats for s in plan_cells("nuwave,spline", "synth-speech", "2", "quick")} == {
        "nuwave": 1, "spline": 1}
    assert {s.method: s.eval_repeats for s in plan_cells("nuwave,spline", "synth-speech", "2", "paper")} == {
        "nuwave": 5, "spline": 1}
    assert plan_cells("nuwave2", "synth-speech", "2", "quick", eval_repeats=3)[0].eval_repeats == 3
    with pytest.raises(SpecError, match="eval-repeats"):
        plan_cells("nuwave", "synth-speech", "2", eval_repeats=0)


def test_data_hash_ignores_what_only_describes_the_corpus():
    from bench.data import data_hash, load_card
    from bench.data.cards import DatasetCard

    card = load_card("vctk-single")
    def edited(**raw):
        return DatasetCard(card.name, card.kind, card.summary, card.native_sr, {**card.raw, **raw})

    assert data_hash(edited(summary="another summary", reported=[], url="elsewhere")) == data_hash(card)
    assert data_hash(edited(trim_silence="edges")) != data_hash(card)
