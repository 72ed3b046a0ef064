import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Arrays;
import org.pytorch.IValue;
import org.pytorch.Module;
import org.pytorch.Tensor;

/**
 * Runs a TorchScript image model on one input: RunModel MODEL INPUT.f32 N,C,H,W OUTPUT.f32.
 * The .f32 files hold little-endian float32 values; the output shape goes to stdout.
 */
public class RunModel {
  public static void main(String[] args) throws IOException {
    long[] shape = Arrays.stream(args[2].split(",")).mapToLong(Long::parseLong).toArray();
    ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(Paths.get(args[1])));
    float[] input = new float[in.capacity() / 4];
    in.order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(input);

    Module module = Module.load(args[0]);
    Tensor output = module.forward(IValue.from(Tensor.fromBlob(input, shape))).toTensor();
    float[] values = output.getDataAsFloatArray();

    ByteBuffer out = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    out.asFloatBuffer().put(values);
    Files.write(Paths.get(args[3]), out.array());
    System.out.println("shape: " + Arrays.toString(output.shape()));
  }
}
