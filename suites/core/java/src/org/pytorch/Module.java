package org.pytorch;

/**
 * A TorchScript module loaded by libtorch through libpytorch_jni.so, found on java.library.path.
 * Method names follow org.pytorch.Module of the official bindings.
 */
public final class Module {
  static {
    System.loadLibrary("pytorch_jni");
  }

  private long handle; // a torch::jit::Module* owned by this object

  private Module(long handle) {
    this.handle = handle;
  }

  /** Loads a TorchScript file saved with torch.jit.save or ScriptModule.save. */
  public static Module load(String modelPath) {
    return new Module(nativeLoad(modelPath));
  }

  public IValue forward(IValue... inputs) {
    return runMethod("forward", inputs);
  }

  public IValue runMethod(String methodName, IValue... inputs) {
    if (handle == 0) {
      throw new IllegalStateException("Module was destroyed");
    }
    return nativeRunMethod(handle, methodName, inputs);
  }

  /** Frees the native module now instead of leaving it to process exit. */
  public void destroy() {
    if (handle != 0) {
      nativeDestroy(handle);
      handle = 0;
    }
  }

  private static native long nativeLoad(String modelPath);

  private static native IValue nativeRunMethod(long handle, String methodName, IValue[] inputs);

  private static native void nativeDestroy(long handle);
}
