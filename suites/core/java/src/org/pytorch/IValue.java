package org.pytorch;

/**
 * A TorchScript value: None, a tensor, a bool, a long, a double, a string or a tuple. Method
 * names follow org.pytorch.IValue of the official bindings.
 */
public final class IValue {
  // Type codes shared with pytorch_jni.cpp.
  static final int TYPE_NULL = 1;
  static final int TYPE_TENSOR = 2;
  static final int TYPE_BOOL = 3;
  static final int TYPE_LONG = 4;
  static final int TYPE_DOUBLE = 5;
  static final int TYPE_STRING = 6;
  static final int TYPE_TUPLE = 7;

  final int typeCode; // read by pytorch_jni.cpp
  final Object data; // Tensor, Boolean, Long, Double, String or IValue[]

  private IValue(int typeCode, Object data) {
    this.typeCode = typeCode;
    this.data = data;
  }

  public static IValue optionalNull() {
    return new IValue(TYPE_NULL, null);
  }

  public static IValue from(Tensor tensor) {
    return new IValue(TYPE_TENSOR, tensor);
  }

  public static IValue from(boolean value) {
    return new IValue(TYPE_BOOL, value);
  }

  public static IValue from(long value) {
    return new IValue(TYPE_LONG, value);
  }

  public static IValue from(double value) {
    return new IValue(TYPE_DOUBLE, value);
  }

  public static IValue from(String value) {
    return new IValue(TYPE_STRING, value);
  }

  public static IValue tupleFrom(IValue... values) {
    return new IValue(TYPE_TUPLE, values.clone());
  }

  public boolean isNull() {
    return typeCode == TYPE_NULL;
  }

  public boolean isTensor() {
    return typeCode == TYPE_TENSOR;
  }

  public boolean isBool() {
    return typeCode == TYPE_BOOL;
  }

  public boolean isLong() {
    return typeCode == TYPE_LONG;
  }

  public boolean isDouble() {
    return typeCode == TYPE_DOUBLE;
  }

  public boolean isString() {
    return typeCode == TYPE_STRING;
  }

  public boolean isTuple() {
    return typeCode == TYPE_TUPLE;
  }

  private void expect(int wanted, String name) {
    if (typeCode != wanted) {
      throw new IllegalStateException("IValue of type code " + typeCode + " is not a " + name);
    }
  }

  public Tensor toTensor() {
    expect(TYPE_TENSOR, "Tensor");
    return (Tensor) data;
  }

  public boolean toBool() {
    expect(TYPE_BOOL, "bool");
    return (Boolean) data;
  }

  public long toLong() {
    expect(TYPE_LONG, "long");
    return (Long) data;
  }

  public double toDouble() {
    expect(TYPE_DOUBLE, "double");
    return (Double) data;
  }

  public String toStr() {
    expect(TYPE_STRING, "String");
    return (String) data;
  }

  public IValue[] toTuple() {
    expect(TYPE_TUPLE, "tuple");
    return ((IValue[]) data).clone();
  }
}
