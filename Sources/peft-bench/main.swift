import CKernels
import TensorCore

print("peft-bench: CPU level \(String(cString: peft_cpu_level_name()))")
