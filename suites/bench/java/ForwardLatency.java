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
 * ForwardLatency MODEL INPUT.f32 N,C,H,W OUTPUT.f32 WARMUP ROUNDS ROUNDS.txt MEMORY.txt.
 * Each round is the CPU time of the calling thread (libtorch runs one intra-op thread, set by
 * OMP_NUM_THREADS=1, inline in the caller), written one per line in seconds; the last output
 * goes to OUTPUT.f32 (little-endian float32) for the check against Python. MEMORY.txt gets the
 * JVM's peak resident memory over the rounds, as "name value" lines (suites/bench/_memory.py's
 * fields): the kernel's high-water mark (VmHWM), reset before the warm-up through
 * /proc/self/clear_refs; where the reset is refused, the JVM's lifetime peak ("VmHWM-lifetime").
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
    long rssBefore = statusBytes("VmRSS");
    String method = "VmHWM";
    try {
      Files.write(Paths.get("/proc/self/clear_refs"), "5".getBytes());
    } catch (IOException refused) {
      method = "VmHWM-lifetime";
    }
    for (int i = 0; i < warmup + rounds; i++) {
      long start = clock.getCurrentThreadCpuTime();
      output = module.forward(IValue.from(tensor)).toTensor();
      long elapsed = clock.getCurrentThreadCpuTime() - start;
      if (i >= warmup) {
        times.add(Double.toString(elapsed / 1e9));
      }
    }
    long peak = statusBytes("VmHWM");
    Files.write(Paths.get(args[6]), times.toString().getBytes());
    String memory = "peak_rss_bytes " + peak + "\nrss_before_bytes " + rssBefore
        + "\npeak_rss_method " + method + "\n";
    Files.write(Paths.get(args[7]), memory.getBytes());
    float[] values = output.getDataAsFloatArray();
    ByteBuffer out = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    out.asFloatBuffer().put(values);
    Files.write(Paths.get(args[3]), out.array());
  }

  /** A kB field of /proc/self/status (VmRSS, VmHWM) in bytes. */
  static long statusBytes(String field) throws IOException {
    for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
      if (line.startsWith(field + ":")) {
        String[] parts = line.substring(field.length() + 1).trim().split("\\s+");
        return Long.parseLong(parts[0]) * 1024;
      }
    }
    throw new IOException("/proc/self/status has no " + field + " line");
  }
}
