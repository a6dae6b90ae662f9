"""Tokenizers, model presets, loading and generation: one interface used by every stage."""


def quiet_libraries() -> None:
    """Keep the trainers' progress bars and logs; drop loader bars and the libraries' deprecation chatter."""
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        import datasets

        datasets.disable_progress_bars()
    except ImportError:
        pass
