"""Hand-computed cases from the published prices (/work/shared/reference/prices.md).

Each case writes out its arithmetic. If one fails, the estimator (or the catalog figure) changed:
re-derive the figure by hand from the reference before touching the expected value."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from tunewise.catalog import load_catalog
from tunewise.estimate import Candidate, Histogram, Horizon, Traffic, Workload, estimate

NO_TRAFFIC = Traffic(requests_per_month=D(0), input_tokens=D(0), output_tokens=D(0))


def one(cand: str, workload: Workload, traffic: Traffic = NO_TRAFFIC, *, catalog, horizon=None):
    return estimate([Candidate.parse(cand)], workload, traffic, horizon, catalog=catalog)[0]


def test_gpt35_turbo_aug_2023_100k_tokens_3_epochs_is_2_40(catalog_aug2023):
    # 100,000 tokens x 3 epochs = 300,000 billed tokens; x $0.008 / 1K = $2.40
    w = Workload(examples=1000, tokens_total=100_000, tokenizer="cl100k_base", max_tokens=300)
    e = one("api-finetune:openai/gpt-3.5-turbo", w, catalog=catalog_aug2023)
    assert e.epochs == 3
    assert e.billed_tokens.expected == 300_000
    assert e.train_usd.low == e.train_usd.expected == e.train_usd.high == D("2.40")
    assert e.prices[0].id == "openai/gpt-3.5-turbo/training@2023-08-22"


def test_gpt4o_mini_training_and_inference(catalog):
    # training: 250,000 tokens x 3 epochs = 750,000 x $3/M = $2.25
    # inference: 10,000 req x (500 in x $0.30/M + 100 out x $1.20/M) = 10,000 x $0.00027 = $2.70/month
    # TCO 12 months flat: 2.25 + 12 x 2.70 = $34.65
    w = Workload(examples=1000, tokens_total=250_000, max_tokens=900)
    t = Traffic(requests_per_month=D(10_000), input_tokens=D(500), output_tokens=D(100))
    e = one("api-finetune:openai/gpt-4o-mini-2024-07-18", w, t, catalog=catalog)
    assert e.train_usd.expected == D("2.25")
    assert e.monthly_usd.expected == D("2.70")
    assert e.tco_usd.expected == D("34.65")


def test_epoch_rule_and_truncation_at_4096(catalog_aug2023):
    # 10 examples in buckets (upper bounds) 2048/4096/8192/16384 with 6/2/1/1 examples, 26,000 tokens.
    # Truncated at 4,096: 6,000 + 6,000 + 4,096 + 4,096 = 20,192 tokens (buckets align: exact).
    # Epochs: 10 examples x 3 = 30 < 100, so epochs = 100 // 10 = 10 (OpenAI cookbook rule, floor).
    # Billed 20,192 x 10 = 201,920 tokens x $8/M = $1.61536 -> $1.6154
    h = Histogram(edges=[D(2048), D(4096), D(8192), D(16384)], counts=[6, 2, 1, 1],
                  sums=[6000, 6000, 5000, 9000])
    w = Workload(examples=10, tokens_total=26_000, tokenizer="cl100k_base", max_tokens=9000, histogram=h)
    e = one("api-finetune:openai/gpt-3.5-turbo-0613", w, catalog=catalog_aug2023)
    assert e.epochs == 10
    assert e.billed_tokens.expected == 201_920
    assert e.train_usd.expected == D("1.6154")


def test_epoch_rule_caps_large_sets(catalog):
    # 10,000 examples x 3 = 30,000 > 25,000, so epochs = 25,000 // 10,000 = 2
    # 2,000,000 tokens x 2 = 4,000,000 x $25/M (gpt-4o-2024-08-06) = $100.00
    w = Workload(examples=10_000, tokens_total=2_000_000, max_tokens=500)
    e = one("api-finetune:openai/gpt-4o", w, catalog=catalog)
    assert (e.epochs, e.train_usd.expected) == (2, D("100.00"))


def test_together_size_band_with_tokenizer_band(catalog_jul2025):
    # (the size-band table in force until 2026-09-10)
    # llama-3.1-8b is <=16B: SFT LoRA $0.48/M; default 1 epoch; 1,000,000 tokens -> $0.48.
    # Counted with o200k_base, billed in Llama's tokenizer: +/-10% -> $0.432 .. $0.528
    w = Workload(examples=2000, tokens_total=1_000_000, max_tokens=1000)
    e = one("api-finetune:together/llama-3.1-8b", w, catalog=catalog_jul2025)
    assert e.train_usd == e.train_usd.of(D("0.432"), D("0.48"), D("0.528"))
    full = one("api-finetune:together/llama-3.1-8b[method=full]", w, catalog=catalog_jul2025)
    assert full.train_usd.expected == D("0.54")  # $0.54/M for full fine-tunes <=16B


def test_mistral_minimum_charge_and_storage(catalog):
    # 100,000 tokens x 1 epoch x $1/M = $0.10 < $4 minimum per job -> $4.00 (also at +/-10%)
    # storage $2 per model-month x 12 months = $24; TCO = 4 + 24 = $28 (no traffic)
    w = Workload(examples=500, tokens_total=100_000, max_tokens=400)
    e = one("api-finetune:mistral/open-mistral-7b", w, catalog=catalog)
    assert e.train_usd == e.train_usd.exact(D("4.0000"))
    assert e.tco_usd.expected == D("28.0000")


def test_prompting_few_shot_with_cached_prefix(catalog):
    # mean example 300 tokens; k=5 -> +1,500 input tokens per request.
    # expected: 1,000 x (1,700 x $2.50/M + 50 x $10/M) = 1,000 x $0.00475 = $4.75 / month
    # low (prefix cached at $1.25/M): 1,000 x (200 x 2.50 + 1,500 x 1.25 + 50 x 10)/1M = $2.875
    w = Workload(examples=100, tokens_total=30_000)
    t = Traffic(requests_per_month=D(1000), input_tokens=D(200), output_tokens=D(50))
    e = one("prompting:openai/gpt-4o[k=5]", w, t, catalog=catalog)
    assert e.train_usd.expected == 0
    assert e.monthly_usd == e.monthly_usd.of(D("2.875"), D("4.75"), D("4.75"))


def test_selfhost_lora_compute(catalog):
    # qwen2.5-0.5b (N = 494,032,768), LoRA 4ND, 1,000,000 tokens x 3 epochs = D 3,000,000
    # FLOPs = 4 x 494,032,768 x 3,000,000 = 5.928393216e15
    # one H100: 989e12 FLOP/s x 3,600 s x MFU 0.35 = 1.246140e18 FLOPs per hour
    # hours = 5.928393216e15 / 1.246140e18 = 0.0047574 + 0.25 h job overhead = 0.2547574 -> 0.255 GPU-h
    # cost = 0.255 x $3.49 (RunPod Secure on-demand since 2026-09-25) = $0.88995 -> $0.8900 (half-even)
    w = Workload(examples=1000, tokens_total=1_000_000, max_tokens=2000)
    e = one("selfhost:qwen2.5-0.5b/lora/h100-80gb@runpod", w, catalog=catalog)
    assert e.billed_tokens.expected == 3_000_000
    assert e.train_gpu_hours.expected == D("0.255")
    assert e.train_usd.expected == D("0.8900")
    assert e.memory.fits and not e.memory.gradient_checkpointing


def test_selfhost_serving_always_on_floor(catalog):
    # low traffic: one always-on L4 at RunPod $0.44/GPU-h x 730 h = $321.20 per month
    w = Workload(examples=1000, tokens_total=500_000, max_tokens=900)
    t = Traffic(requests_per_month=D(1000), input_tokens=D(300), output_tokens=D(30))
    e = one("selfhost:qwen2.5-0.5b/qlora/l4-24gb@runpod", w, t, catalog=catalog)
    assert e.monthly_usd.expected == D("321.20")
    assert e.serve_gpu_hours_per_month.expected == 730


def test_70b_full_finetune_on_one_t4_does_not_fit(catalog):
    # model states alone: 16 bytes x 70,553,706,496 params = 1,128.9 GB >> 16 GB
    w = Workload(examples=100, tokens_total=50_000, max_tokens=800)
    e = one("selfhost:llama-3.1-70b/full/t4-16gb@aws", w, catalog=catalog)
    assert e.status == "does-not-fit" and e.rank is None and e.tco_usd is None
    assert e.memory.needed_gb_per_gpu > D(1128)
    assert "does not fit" in e.reason


def test_as_of_changes_the_price(catalog_aug2023):
    # gpt-3.5-turbo fine-tuned inference: $12/$16 per M in Aug 2023, $3/$6 from Nov 2023
    w = Workload(examples=1000, tokens_total=100_000, tokenizer="cl100k_base", max_tokens=300)
    t = Traffic(requests_per_month=D(1000), input_tokens=D(1000), output_tokens=D(0))
    aug = one("api-finetune:openai/gpt-3.5-turbo", w, t, catalog=catalog_aug2023)
    later = one("api-finetune:openai/gpt-3.5-turbo", w, t, catalog=load_catalog(as_of=date(2024, 6, 1)))
    assert aug.monthly_usd.expected == D("12.00")  # 1,000 x 1,000 tokens x $12/M
    assert later.monthly_usd.expected == D("3.00")
    assert aug.train_usd == later.train_usd


def test_retrains_and_break_even(catalog_jul2025):
    # (priced in July 2025, before OpenAI's end of new fine-tuning jobs fell inside the horizon)
    # gpt-4o-mini fine-tune vs gpt-4o with 5 shots; 4 retrains a year over 12 months -> months 3, 6, 9
    w = Workload(examples=1000, tokens_total=300_000, max_tokens=900)
    t = Traffic(requests_per_month=D(100_000), input_tokens=D(250), output_tokens=D(50))
    ft, base = estimate(["api-finetune:openai/gpt-4o-mini", "prompting:openai/gpt-4o[k=5]"], w, t,
                        Horizon(months=12, retrains_per_year=4), catalog=catalog_jul2025)
    # training 300,000 x 3 x $3/M = $2.70; 3 retrains = $8.10
    assert [p.name for p in ft.parts][:2] == ["initial training", "retraining x3 (months 3, 6, 9)"]
    assert ft.parts[1].usd.expected == D("8.10")
    assert ft.break_even_month == 1 and ft.break_even_vs == "prompting:openai/gpt-4o[k=5]"
    assert (ft.rank, base.rank) == (1, 2)


def test_selfhost_uses_the_models_own_token_counts_when_the_audit_has_them(catalog):
    # minilm-l6-v2: the audit's "minilm" counts are the model's own, so no tokenizer band.
    # FLOPs = 4 x 22,713,216 x (10,000 x 3) = 2.7255859e12 -> negligible next to the 0.25 h overhead
    own = Workload(examples=100, tokens_total=10_000, tokenizer="minilm", max_tokens=200)
    w = Workload(examples=100, tokens_total=12_000, max_tokens=240, alternatives={"minilm": own})
    e = one("selfhost:minilm-l6-v2/full/t4-16gb@aws", w, catalog=catalog)
    assert e.billed_tokens == e.billed_tokens.exact(30_000)
    assert any("own tokenizer (minilm)" in a for a in e.assumptions)
