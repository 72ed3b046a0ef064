import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.StringJoiner;
import org.pytorch.IValue;
import org.pytorch.Module;
import org.pytorch.Tensor;

/**
 * Times Module.forward of a TorchScript model from Java:
 * ForwardLatency MODEL INPUT.f32 N,C,H,W OUTPUT.f32 WARMUP ROUNDS ROUNDS.txt.
 * Each round is the CPU time of the calling thread (libtorch runs one intra-op thread, set by
 * OMP_NUM_THREADS=1, inline in the caller), written one per line in seconds; the last output
 * goes to OUTPUT.f32 (little-endian float32) for the check against Python.
 */
public class ForwardLatency {
  public static void main(String[] args) throws IOException {
    long[] shape = Arrays.stream(args[2].split(",")).mapToLong(Long::parseLong).toArray();
    ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(Paths.get(args[1])));
    float[] input = new float[in.capacity() / 4];
    in.order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(input);
    int warmup = Integer.parseInt(args[4]);
    int rounds = Integer.parseInt(args[5]);

    ThreadMXBean clock = ManagementFactory.getThreadMXBean();
    Module module = Module.load(args[0]);
    Tensor tensor = Tensor.fromBlob(input, shape);
    Tensor output = null;
    StringJoiner times = new StringJoiner("\n", "", "\n");
    for (int i = 0; i < warmup + rounds; i++) {
      long start = clock.getCurrentThreadCpuTime();
      output = module.forward(IValue.from(tensor)).toTensor();
      long elapsed = clock.getCurrentThreadCpuTime() - start;
      if (i >= warmup) {
        times.add(Double.toString(elapsed / 1e9));
      }
    }
    Files.write(Paths.get(args[6]), times.toString().getBytes());
    float[] values = output.getDataAsFloatArray();
    ByteBuffer out = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    out.asFloatBuffer().put(values);
    Files.write(Paths.get(args[3]), out.array());
  }
}
