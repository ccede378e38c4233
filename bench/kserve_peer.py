"""The KServe Python model server (the Open Inference Protocol's reference
implementation) serving an iris ONNX graph with onnxruntime: the peer of
bench/formats.py. Outputs as ours: label (INT64) and probabilities [N, 3].

Usage: <python with kserve and onnxruntime> bench/kserve_peer.py <model.onnx> <port>
"""
import sys
import uuid

import kserve
import numpy as np
import onnxruntime as ort
from kserve import InferOutput, InferRequest, InferResponse


class Iris(kserve.Model):
    def __init__(self, path: str):
        super().__init__("iris")
        self.session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        self.outputs = [o.name for o in self.session.get_outputs()]
        self.ready = True

    def predict(self, payload: InferRequest, headers=None, response_headers=None) -> InferResponse:
        x = payload.inputs[0].as_numpy().astype(np.float32)
        label, probabilities = self.session.run(None, {"input": x})
        if isinstance(probabilities, list):  # a ZipMap graph answers a list of dicts
            probabilities = np.array([[row[k] for k in sorted(row)] for row in probabilities], dtype=np.float32)
        outputs = [
            InferOutput(name="label", shape=list(label.shape), datatype="INT64", data=label.astype(np.int64)),
            InferOutput(name="probabilities", shape=list(probabilities.shape), datatype="FP32",
                        data=probabilities.astype(np.float32)),
        ]
        for o in outputs:
            o.set_data_from_numpy(o.data, binary_data=False)
        return InferResponse(model_name="iris", infer_outputs=outputs, response_id=payload.id or str(uuid.uuid4()))


if __name__ == "__main__":
    kserve.ModelServer(http_port=int(sys.argv[2]), grpc_port=int(sys.argv[2]) + 1, workers=1).start(
        [Iris(sys.argv[1])])
