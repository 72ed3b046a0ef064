import java.util.Arrays;
import org.pytorch.IValue;
import org.pytorch.Module;
import org.pytorch.Tensor;

/** The Java snippet of the PyTorch 1.4 release note, with the model path as its argument. */
public class ReleaseNoteSnippet {
  public static void main(String[] args) {
    Module mod = Module.load(args[0]);
    Tensor data =
        Tensor.fromBlob(
            new int[] {1, 2, 3, 4, 5, 6}, // data
            new long[] {2, 3} // shape
            );
    IValue result = mod.forward(IValue.from(data), IValue.from(3.0));
    Tensor output = result.toTensor();
    System.out.println("shape: " + Arrays.toString(output.shape()));
    System.out.println("data: " + Arrays.toString(output.getDataAsFloatArray()));
  }
}
