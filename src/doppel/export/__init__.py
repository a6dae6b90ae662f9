"""Export: merged HF folder, adapter bundle, GGUF files with the quantization parity gate, Modelfile, model card."""
