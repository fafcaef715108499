"""A commented example of a user catalog file: negotiated API rates and an internal GPU rate."""

TEMPLATE = """\
# tunewise price overrides. Use with:  tunewise estimate ... --catalog-file THIS.yaml
# (or TUNEWISE_CATALOG=THIS.yaml). Check with:  tunewise catalog validate THIS.yaml
# A price you give here replaces every bundled price for the same provider/model/kind[/market].
# Money is USD; write numbers plainly (0.008), they are read as exact decimals.
type: provider            # provider | gpu-specs | open-models
schema_version: 1
provider: openai          # an existing provider (to override) or a new one (e.g. in-house)
name: OpenAI - our negotiated rates
url: https://example.com/our-contract
models: []                # new models go here: {id, fine_tunable, context_limit, tokenizer, ...}
prices:
  # kind: training | training-hour | base-input | base-output | base-cached-input
  #       tuned-input | tuned-output | tuned-cached-input | tuned-batch-input | tuned-batch-output
  #       job-minimum | hosting-hour | storage-month | gpu-hour
  # unit must match the kind: 1M tokens | training hour | job | deployment hour | model-month | GPU-hour
  - model: gpt-4o-mini-2024-07-18
    kind: training
    usd: 2.40
    unit: 1M tokens
    effective_from: 2026-01-01
    source_url: https://example.com/our-contract
    checked_on: 2026-11-01
    confidence: user      # P | P-data | S | R | user
    note: "negotiated; 20% off list"

# An internal GPU rate goes in its own file (one provider per file); for example:
# type: provider
# schema_version: 1
# provider: in-house
# name: Our cluster
# url: https://example.com/cluster
# prices:
#   - {model: h100-80gb, kind: gpu-hour, usd: 1.10, unit: GPU-hour, market: internal,
#      effective_from: 2026-01-01, source_url: "https://example.com/cluster", checked_on: 2026-11-01,
#      confidence: user}
"""
