"use client";
import { TextInput, type TextInputProps } from "@mantine/core";

/** A text field of a filter bar whose value lives in the page's state. */
export function TextFilter({
  value,
  onValue,
  ...props
}: Omit<TextInputProps, "value" | "onChange"> & {
  value: string;
  onValue: (value: string) => void;
}) {
  return <TextInput {...props} value={value} onChange={(e) => onValue(e.currentTarget.value)} />;
}
