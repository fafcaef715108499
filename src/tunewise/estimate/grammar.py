"""The compact candidate id grammar (shown by `tunewise estimate --help`)."""

GRAMMAR = """\
Candidate ids: KIND:REF[OPTIONS]   (OPTIONS optional, comma-separated, in square brackets)

  api-finetune:PROVIDER/MODEL[epochs=N,method=lora|full,objective=sft|dpo|rft,hours=H]
      e.g. api-finetune:openai/gpt-4o-mini-2024-07-18
           api-finetune:together/llama-3.1-8b[method=full,epochs=2]
           api-finetune:openai/o4-mini[objective=rft,hours=3]
  selfhost:MODEL/METHOD/GPU@OFFER[xN,epochs=N,seq=N,gc=auto|on|off,mfu=F,tps=F,
                                  serve=always-on|scale-to-zero,rank=R,batch=B]
      MODEL is a catalog id (llama-3.1-8b), a Hugging Face id from the catalog (Qwen/Qwen3-8B),
      or a local config.json / model folder (any model: its shape and parameter count, MoE included,
      are read from the file). METHOD is full, lora or qlora; OFFER is a GPU seller (runpod) or
      seller-market (runpod-spot); xN = N GPUs for training (default 1).
      e.g. selfhost:llama-3.1-8b/lora/h100-80gb@runpod-spot[x2]
           selfhost:/models/my-moe/config.json/lora/h200-141gb@nebius
  prompting:PROVIDER/MODEL[k=N]
      a base model prompted with N few-shot examples per request (k=0: zero-shot).
      e.g. prompting:openai/gpt-4o[k=5]"""
