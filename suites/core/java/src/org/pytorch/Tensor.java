package org.pytorch;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A CPU tensor: a shape, a dtype and a direct buffer in native byte order that the native side
 * reads and fills. Method names follow org.pytorch.Tensor of the official bindings.
 */
public final class Tensor {
  private final DType dtype;
  private final long[] shape;
  final ByteBuffer data; // read and written by pytorch_jni.cpp

  private Tensor(DType dtype, long[] shape) {
    this.dtype = dtype;
    this.shape = shape.clone();
    long bytes = numel(shape) * elementSize(dtype);
    if (bytes > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("Tensor too large: " + bytes + " bytes");
    }
    this.data = ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.nativeOrder());
  }

  /** Called from native code to hold a result; `jniCode` is a DType code. */
  static Tensor allocate(int jniCode, long[] shape) {
    return new Tensor(DType.fromCode(jniCode), shape);
  }

  public static long numel(long[] shape) {
    long n = 1;
    for (long dim : shape) {
      if (dim < 0) {
        throw new IllegalArgumentException("Negative dimension in shape " + Arrays.toString(shape));
      }
      n *= dim;
    }
    return n;
  }

  private static int elementSize(DType dtype) {
    switch (dtype) {
      case UINT8:
      case INT8:
        return 1;
      case INT32:
      case FLOAT32:
        return 4;
      default:
        return 8;
    }
  }

  private static Tensor checked(DType dtype, int length, long[] shape) {
    if (length != numel(shape)) {
      throw new IllegalArgumentException(
          "Data has " + length + " elements but shape " + Arrays.toString(shape) + " needs "
              + numel(shape));
    }
    return new Tensor(dtype, shape);
  }

  public static Tensor fromBlob(int[] data, long[] shape) {
    Tensor t = checked(DType.INT32, data.length, shape);
    t.data.asIntBuffer().put(data);
    return t;
  }

  public static Tensor fromBlob(float[] data, long[] shape) {
    Tensor t = checked(DType.FLOAT32, data.length, shape);
    t.data.asFloatBuffer().put(data);
    return t;
  }

  public static Tensor fromBlob(long[] data, long[] shape) {
    Tensor t = checked(DType.INT64, data.length, shape);
    t.data.asLongBuffer().put(data);
    return t;
  }

  public static Tensor fromBlob(double[] data, long[] shape) {
    Tensor t = checked(DType.FLOAT64, data.length, shape);
    t.data.asDoubleBuffer().put(data);
    return t;
  }

  public static Tensor fromBlob(byte[] data, long[] shape) {
    Tensor t = checked(DType.INT8, data.length, shape);
    t.data.put(data).rewind();
    return t;
  }

  public static Tensor fromBlobUnsigned(byte[] data, long[] shape) {
    Tensor t = checked(DType.UINT8, data.length, shape);
    t.data.put(data).rewind();
    return t;
  }

  public long[] shape() {
    return shape.clone();
  }

  public long numel() {
    return numel(shape);
  }

  public DType dtype() {
    return dtype;
  }

  private void expect(DType wanted) {
    if (dtype != wanted) {
      throw new IllegalStateException(
          "Tensor of type " + dtype + " cannot return " + wanted + " data");
    }
  }

  public float[] getDataAsFloatArray() {
    expect(DType.FLOAT32);
    float[] out = new float[(int) numel()];
    data.asFloatBuffer().get(out);
    return out;
  }

  public int[] getDataAsIntArray() {
    expect(DType.INT32);
    int[] out = new int[(int) numel()];
    data.asIntBuffer().get(out);
    return out;
  }

  public long[] getDataAsLongArray() {
    expect(DType.INT64);
    long[] out = new long[(int) numel()];
    data.asLongBuffer().get(out);
    return out;
  }

  public double[] getDataAsDoubleArray() {
    expect(DType.FLOAT64);
    double[] out = new double[(int) numel()];
    data.asDoubleBuffer().get(out);
    return out;
  }

  public byte[] getDataAsByteArray() {
    expect(DType.INT8);
    byte[] out = new byte[(int) numel()];
    data.duplicate().get(out);
    return out;
  }

  public byte[] getDataAsUnsignedByteArray() {
    expect(DType.UINT8);
    byte[] out = new byte[(int) numel()];
    data.duplicate().get(out);
    return out;
  }

  @Override
  public String toString() {
    return "Tensor(" + Arrays.toString(shape) + ", dtype=" + dtype + ")";
  }
}
