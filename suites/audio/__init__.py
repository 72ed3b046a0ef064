"""torchaudio features from the 1.4-era release (0.4): transforms, I/O backends, datasets."""
