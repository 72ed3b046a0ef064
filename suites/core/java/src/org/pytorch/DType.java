package org.pytorch;

/** Element types, with the codes of the official bindings. */
public enum DType {
  UINT8(1),
  INT8(2),
  INT32(3),
  FLOAT32(4),
  INT64(5),
  FLOAT64(6);

  final int jniCode;

  DType(int jniCode) {
    this.jniCode = jniCode;
  }

  static DType fromCode(int code) {
    for (DType type : values()) {
      if (type.jniCode == code) {
        return type;
      }
    }
    throw new IllegalArgumentException("Unsupported dtype code " + code);
  }
}
