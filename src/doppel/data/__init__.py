"""Build datasets: continued-pretraining chunks, SFT dialogues, held-out splits, statistics."""
