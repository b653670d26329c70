"""Synthetic DICOM made with pydicom at test time: small CT series."""

from __future__ import annotations

import io
import uuid
from array import array

from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid


def ct_series(n: int = 3, size: int = 64, study_uid: str | None = None, patient: str = "OAUTH^TEST") -> list[bytes]:
    """``n`` CT slices of ``size`` x ``size`` 16-bit pixels, one study, one series."""
    study_uid = study_uid or generate_uid()
    series_uid = generate_uid()
    out = []
    for i in range(n):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
        ds.SOPClassUID = CTImageStorage
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid
        ds.PatientName = patient
        ds.PatientID = "OAUTH-1"
        ds.Modality = "CT"
        ds.StudyDate = "20260101"
        ds.SeriesNumber = 1
        ds.InstanceNumber = i + 1
        ds.Rows = ds.Columns = size
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = 16
        ds.BitsStored = 12
        ds.HighBit = 11
        ds.PixelRepresentation = 0
        ds.RescaleIntercept = -1024
        ds.RescaleSlope = 1
        ds.ImagePositionPatient = [0, 0, float(i)]
        ds.PixelData = array("H", ((p * (i + 1)) % 4096 for p in range(size * size))).tobytes()
        ds.is_little_endian = True
        ds.is_implicit_VR = False
        buf = io.BytesIO()
        ds.save_as(buf, write_like_original=False)
        out.append(buf.getvalue())
    return out


def multipart(parts: list[bytes]) -> tuple[bytes, str]:
    """A STOW-RS body of ``parts`` (DICOM files) and its Content-Type."""
    boundary = uuid.uuid4().hex
    body = b"".join(b"--" + boundary.encode() + b"\r\nContent-Type: application/dicom\r\n\r\n" + p + b"\r\n"
                    for p in parts) + b"--" + boundary.encode() + b"--\r\n"
    return body, f'multipart/related; type="application/dicom"; boundary={boundary}'
