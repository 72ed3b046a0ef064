// JNI bridge between org.pytorch.{Module,IValue,Tensor} and the row's own libtorch.
//
// Module.load -> torch::jit::load; Module.runMethod converts each org.pytorch.IValue to a
// c10::IValue, runs the method under InferenceMode and converts the result back. Tensors cross
// as copies of the Java object's direct buffer, so neither side outlives the other's memory.
#include <jni.h>

#include <torch/script.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// Type codes of org.pytorch.IValue and DType (kept in sync with the Java sources).
enum IValueType {
  kNull = 1, kTensor = 2, kBool = 3, kLong = 4, kDouble = 5, kString = 6, kTuple = 7
};

struct Dtype {
  int code;
  at::ScalarType type;
};
const Dtype kDtypes[] = {{1, at::kByte}, {2, at::kChar}, {3, at::kInt},
                         {4, at::kFloat}, {5, at::kLong}, {6, at::kDouble}};

struct JavaApi {
  jclass ivalue, tensor, ivalue_array;
  jfieldID ivalue_type, ivalue_data, tensor_data, tensor_shape, tensor_dtype, dtype_code;
  jmethodID tensor_allocate, from_tensor, from_bool, from_long, from_double, from_string,
      tuple_from, optional_null, boolean_value, long_value, double_value;
};
JavaApi api;

class JavaException : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

void check(JNIEnv* env) {
  if (env->ExceptionCheck()) throw JavaException("Java exception");
}

at::ScalarType scalarType(int code) {
  for (const auto& d : kDtypes)
    if (d.code == code) return d.type;
  throw std::invalid_argument("unsupported dtype code " + std::to_string(code));
}

int dtypeCode(at::ScalarType type) {
  for (const auto& d : kDtypes)
    if (d.type == type) return d.code;
  throw std::invalid_argument(std::string("no Java dtype for ") + c10::toString(type));
}

at::Tensor toAten(JNIEnv* env, jobject tensor) {
  jobject buffer = env->GetObjectField(tensor, api.tensor_data);
  auto shape_array = static_cast<jlongArray>(env->GetObjectField(tensor, api.tensor_shape));
  jobject dtype = env->GetObjectField(tensor, api.tensor_dtype);
  check(env);
  const jsize rank = env->GetArrayLength(shape_array);
  std::vector<int64_t> shape(rank);
  env->GetLongArrayRegion(shape_array, 0, rank, reinterpret_cast<jlong*>(shape.data()));
  const int code = env->GetIntField(dtype, api.dtype_code);
  void* data = env->GetDirectBufferAddress(buffer);
  if (data == nullptr && env->GetDirectBufferCapacity(buffer) > 0)
    throw std::invalid_argument("tensor data is not a direct buffer");
  return torch::from_blob(data, shape, at::TensorOptions().dtype(scalarType(code))).clone();
}

jobject fromAten(JNIEnv* env, const at::Tensor& value) {
  const at::Tensor t = value.to(at::kCPU).contiguous();
  const auto sizes = t.sizes();
  jlongArray shape = env->NewLongArray(static_cast<jsize>(sizes.size()));
  env->SetLongArrayRegion(shape, 0, static_cast<jsize>(sizes.size()),
                          reinterpret_cast<const jlong*>(sizes.data()));
  jobject tensor = env->CallStaticObjectMethod(api.tensor, api.tensor_allocate,
                                               dtypeCode(t.scalar_type()), shape);
  check(env);
  jobject buffer = env->GetObjectField(tensor, api.tensor_data);
  if (t.nbytes() > 0) std::memcpy(env->GetDirectBufferAddress(buffer), t.data_ptr(), t.nbytes());
  return tensor;
}

c10::IValue toC10(JNIEnv* env, jobject value) {
  const int type = env->GetIntField(value, api.ivalue_type);
  jobject data = env->GetObjectField(value, api.ivalue_data);
  switch (type) {
    case kNull:
      return c10::IValue();
    case kTensor:
      return toAten(env, data);
    case kBool:
      return static_cast<bool>(env->CallBooleanMethod(data, api.boolean_value));
    case kLong:
      return static_cast<int64_t>(env->CallLongMethod(data, api.long_value));
    case kDouble:
      return static_cast<double>(env->CallDoubleMethod(data, api.double_value));
    case kString: {
      const char* chars = env->GetStringUTFChars(static_cast<jstring>(data), nullptr);
      std::string s(chars);
      env->ReleaseStringUTFChars(static_cast<jstring>(data), chars);
      return s;
    }
    case kTuple: {
      auto array = static_cast<jobjectArray>(data);
      std::vector<c10::IValue> items;
      for (jsize i = 0; i < env->GetArrayLength(array); ++i)
        items.push_back(toC10(env, env->GetObjectArrayElement(array, i)));
      return c10::ivalue::Tuple::create(std::move(items));
    }
  }
  throw std::invalid_argument("unsupported IValue type code " + std::to_string(type));
}

jobject fromC10(JNIEnv* env, const c10::IValue& value) {
  jobject out = nullptr;
  if (value.isNone()) {
    out = env->CallStaticObjectMethod(api.ivalue, api.optional_null);
  } else if (value.isTensor()) {
    out = env->CallStaticObjectMethod(api.ivalue, api.from_tensor, fromAten(env, value.toTensor()));
  } else if (value.isBool()) {
    out = env->CallStaticObjectMethod(api.ivalue, api.from_bool,
                                      static_cast<jboolean>(value.toBool()));
  } else if (value.isInt()) {
    out = env->CallStaticObjectMethod(api.ivalue, api.from_long, static_cast<jlong>(value.toInt()));
  } else if (value.isDouble()) {
    out = env->CallStaticObjectMethod(api.ivalue, api.from_double, value.toDouble());
  } else if (value.isString()) {
    out = env->CallStaticObjectMethod(api.ivalue, api.from_string,
                                      env->NewStringUTF(value.toStringRef().c_str()));
  } else if (value.isTuple()) {
    const auto& items = value.toTupleRef().elements();
    jobjectArray array = env->NewObjectArray(static_cast<jsize>(items.size()), api.ivalue, nullptr);
    for (size_t i = 0; i < items.size(); ++i)
      env->SetObjectArrayElement(array, static_cast<jsize>(i), fromC10(env, items[i]));
    out = env->CallStaticObjectMethod(api.ivalue, api.tuple_from, array);
  } else {
    throw std::invalid_argument("unsupported result type " + value.tagKind());
  }
  check(env);
  return out;
}

// Run `body`; turn a C++ exception into a Java RuntimeException (a pending one is kept).
template <typename T, typename F>
T guarded(JNIEnv* env, T fallback, F body) {
  try {
    return body();
  } catch (const JavaException&) {
  } catch (const c10::Error& e) {
    env->ThrowNew(env->FindClass("java/lang/RuntimeException"), e.what_without_backtrace());
  } catch (const std::exception& e) {
    env->ThrowNew(env->FindClass("java/lang/RuntimeException"), e.what());
  }
  return fallback;
}

jlong nativeLoad(JNIEnv* env, jclass, jstring path) {
  return guarded<jlong>(env, 0, [&] {
    const char* chars = env->GetStringUTFChars(path, nullptr);
    const std::string file(chars);
    env->ReleaseStringUTFChars(path, chars);
    auto module = std::make_unique<torch::jit::Module>(torch::jit::load(file));
    module->eval();
    return reinterpret_cast<jlong>(module.release());
  });
}

jobject nativeRunMethod(JNIEnv* env, jclass, jlong handle, jstring name, jobjectArray inputs) {
  return guarded<jobject>(env, nullptr, [&] {
    auto* module = reinterpret_cast<torch::jit::Module*>(handle);
    const char* chars = env->GetStringUTFChars(name, nullptr);
    const std::string method(chars);
    env->ReleaseStringUTFChars(name, chars);
    std::vector<c10::IValue> args;
    for (jsize i = 0; i < env->GetArrayLength(inputs); ++i)
      args.push_back(toC10(env, env->GetObjectArrayElement(inputs, i)));
    c10::InferenceMode guard;
    return fromC10(env, module->get_method(method)(std::move(args)));
  });
}

void nativeDestroy(JNIEnv*, jclass, jlong handle) {
  delete reinterpret_cast<torch::jit::Module*>(handle);
}

jclass globalClass(JNIEnv* env, const char* name) {
  jclass local = env->FindClass(name);
  if (local == nullptr) return nullptr;
  return static_cast<jclass>(env->NewGlobalRef(local));
}

}  // namespace

extern "C" JNIEXPORT jint JNICALL JNI_OnLoad(JavaVM* vm, void*) {
  JNIEnv* env = nullptr;
  if (vm->GetEnv(reinterpret_cast<void**>(&env), JNI_VERSION_1_8) != JNI_OK) return JNI_ERR;
  api.ivalue = globalClass(env, "org/pytorch/IValue");
  api.tensor = globalClass(env, "org/pytorch/Tensor");
  jclass dtype = env->FindClass("org/pytorch/DType");
  jclass module = env->FindClass("org/pytorch/Module");
  if (!api.ivalue || !api.tensor || !dtype || !module) return JNI_ERR;
  api.ivalue_type = env->GetFieldID(api.ivalue, "typeCode", "I");
  api.ivalue_data = env->GetFieldID(api.ivalue, "data", "Ljava/lang/Object;");
  api.tensor_data = env->GetFieldID(api.tensor, "data", "Ljava/nio/ByteBuffer;");
  api.tensor_shape = env->GetFieldID(api.tensor, "shape", "[J");
  api.tensor_dtype = env->GetFieldID(api.tensor, "dtype", "Lorg/pytorch/DType;");
  api.dtype_code = env->GetFieldID(dtype, "jniCode", "I");
  api.tensor_allocate = env->GetStaticMethodID(api.tensor, "allocate", "(I[J)Lorg/pytorch/Tensor;");
  const char* ivalue_sig = ")Lorg/pytorch/IValue;";
  auto factory = [&](const char* name, const std::string& args) {
    return env->GetStaticMethodID(api.ivalue, name, ("(" + args + ivalue_sig).c_str());
  };
  api.from_tensor = factory("from", "Lorg/pytorch/Tensor;");
  api.from_bool = factory("from", "Z");
  api.from_long = factory("from", "J");
  api.from_double = factory("from", "D");
  api.from_string = factory("from", "Ljava/lang/String;");
  api.tuple_from = factory("tupleFrom", "[Lorg/pytorch/IValue;");
  api.optional_null = factory("optionalNull", "");
  api.boolean_value = env->GetMethodID(env->FindClass("java/lang/Boolean"), "booleanValue", "()Z");
  api.long_value = env->GetMethodID(env->FindClass("java/lang/Long"), "longValue", "()J");
  api.double_value = env->GetMethodID(env->FindClass("java/lang/Double"), "doubleValue", "()D");
  if (env->ExceptionCheck()) return JNI_ERR;

  const JNINativeMethod methods[] = {
      {const_cast<char*>("nativeLoad"), const_cast<char*>("(Ljava/lang/String;)J"),
       reinterpret_cast<void*>(nativeLoad)},
      {const_cast<char*>("nativeRunMethod"),
       const_cast<char*>("(JLjava/lang/String;[Lorg/pytorch/IValue;)Lorg/pytorch/IValue;"),
       reinterpret_cast<void*>(nativeRunMethod)},
      {const_cast<char*>("nativeDestroy"), const_cast<char*>("(J)V"),
       reinterpret_cast<void*>(nativeDestroy)},
  };
  if (env->RegisterNatives(module, methods, 3) != JNI_OK) return JNI_ERR;
  return JNI_VERSION_1_8;
}
