"""A downstream team's code on top of torch and torchaudio (the harness's example external project)."""
