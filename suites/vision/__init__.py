"""torchvision: scripting, quantization and ONNX export of the models (the 0.5 release)."""
