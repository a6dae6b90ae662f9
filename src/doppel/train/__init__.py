"""Training recipes (pretrain, continued pretraining, SFT): thin layers over transformers, PEFT and TRL."""
