"""Export: merged Hugging Face folders (and, later, GGUF and Modelfiles)."""
