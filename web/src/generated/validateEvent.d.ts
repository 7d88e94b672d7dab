// Types for the generated ajv validator (validateEvent.js).
export declare const validate: {
  (data: unknown): boolean;
  errors?: { instancePath: string; message?: string }[] | null;
};
export default validate;
